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
        // Two passes over the fields (size, then copy) instead of building an array of them.
        var byteCount = 0
        var fieldCount = 0
        for (name, value) in pseudo {
            byteCount += name.utf8.count + value.utf8.count
            fieldCount += 1
        }
        for (name, value) in headers {
            guard let lowered = Self.wireName(name, value: value) else { continue }
            byteCount += lowered.utf8.count + value.utf8.count
            fieldCount += 1
        }
        return withUnsafeTemporaryAllocation(byteCount: max(byteCount, 1), alignment: 1) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(fieldCount, 1)) { nvs in
                guard let base = storage.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    let nvBase = nvs.baseAddress
                else { return body(nil, 0) }
                var offset = 0
                var index = 0
                func append(_ name: String, _ value: String) {
                    let namePointer = base + offset
                    let nameLength = Self.copy(name, to: namePointer)
                    let valuePointer = namePointer + nameLength
                    let valueLength = Self.copy(value, to: valuePointer)
                    offset += nameLength + valueLength
                    nvBase[index] = nghttp2_nv(
                        name: namePointer,
                        value: valuePointer,
                        namelen: nameLength,
                        valuelen: valueLength,
                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue)
                    )
                    index += 1
                }
                for (name, value) in pseudo { append(name, value) }
                for (name, value) in headers {
                    if let lowered = Self.wireName(name, value: value) { append(lowered, value) }
                }
                return body(UnsafePointer(nvBase), index)
            }
        }
    }

    /// The lower-case name to send, or nil for a field HTTP/2 does not carry.
    private static func wireName(_ name: String, value: String) -> String? {
        // HTTP/2 field names are lower-case; most callers already write them so.
        let lowered = name.utf8.contains { $0 &- UInt8(ascii: "A") < 26 } ? name.lowercased() : name
        if lowered.utf8.first == UInt8(ascii: ":") || Self.isConnectionSpecific(lowered, value: value) { return nil }
        return lowered
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
