import CNGHTTP2
import NIOHTTP1

/// Builds the `nghttp2_nv` array of one header block in a single temporary allocation.
///
/// nghttp2 copies names and values during `nghttp2_submit_*` (no NO_COPY flags are set), so the
/// storage only has to live for the duration of `body`.
enum HeaderBlock {
    /// Connection-specific fields that RFC 9113 §8.2.2 forbids in HTTP/2; a proxy forwarding an
    /// HTTP/1.1 head gets them dropped here rather than the peer resetting the stream.
    static func isConnectionSpecific(_ lowercasedName: String, value: String) -> Bool {
        // Cheap pre-check on the length: most names cannot be one of these.
        switch lowercasedName.utf8.count {
        case 2, 4, 7, 10, 14, 16, 17: break
        default: return false
        }
        switch lowercasedName {
        case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host",
            "http2-settings":
            return true
        case "te":
            return value.lowercased() != "trailers"
        default:
            return false
        }
    }

    static func withNameValues<Result>(
        pseudo: [(String, String)],
        headers: HTTPHeaders,
        _ body: (UnsafePointer<nghttp2_nv>?, Int) -> Result
    ) -> Result {
        var fields: [(String, String)] = pseudo
        fields.reserveCapacity(pseudo.count + headers.count)
        for (name, value) in headers {
            // HTTP/2 field names are lower-case; most callers already write them so.
            let lowered = name.utf8.contains { $0 &- UInt8(ascii: "A") < 26 } ? name.lowercased() : name
            if lowered.hasPrefix(":") || Self.isConnectionSpecific(lowered, value: value) { continue }
            fields.append((lowered, value))
        }
        var byteCount = 0
        for (name, value) in fields { byteCount += name.utf8.count + value.utf8.count }

        return withUnsafeTemporaryAllocation(byteCount: max(byteCount, 1), alignment: 1) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(fields.count, 1)) { nvs in
                guard let base = storage.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    let nvBase = nvs.baseAddress
                else { return body(nil, 0) }
                var offset = 0
                for (index, (name, value)) in fields.enumerated() {
                    let namePointer = base + offset
                    offset += Self.copy(name, to: namePointer)
                    let valuePointer = base + offset
                    offset += Self.copy(value, to: valuePointer)
                    nvBase[index] = nghttp2_nv(
                        name: namePointer,
                        value: valuePointer,
                        namelen: name.utf8.count,
                        valuelen: value.utf8.count,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
                    )
                }
                return body(UnsafePointer(nvBase), fields.count)
            }
        }
    }

    private static func copy(_ string: String, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if let count = string.utf8.withContiguousStorageIfAvailable({ bytes -> Int in
            if let base = bytes.baseAddress { destination.update(from: base, count: bytes.count) }
            return bytes.count
        }) {
            return count
        }
        var count = 0
        for byte in string.utf8 {
            destination[count] = byte
            count += 1
        }
        return count
    }
}
