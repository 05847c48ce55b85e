/// The path normalization a sidecar applies before routing: Istio's default mesh
/// `pathNormalization` (DEFAULT, i.e. BASE) sets the connection manager's `normalize_path`
/// (`buildHTTPConnectionManager`, pilot/pkg/networking/core/listener_builder.go), and Envoy then
/// canonicalizes the path part of `:path` as RFC 3986 says (`PathUtil::canonicalPath`, over
/// Chromium's URL canonicalizer): `\` becomes `/`, percent-escapes of unreserved characters
/// (letters, digits, `-._~`) are decoded, and `.` and `..` segments are resolved (`..` never
/// climbs above `/`). Other escapes, `//` (merge_slashes is off) and the query stay as they are.
/// The route matches, and the upstream receives, the normalized path.
public enum PathNormalization {
    /// `target` normalized; the same string when nothing changes (the usual case, checked first).
    public static func normalized(_ target: String) -> String {
        // Checked on the string's own bytes: the hot path allocates nothing for a clean path.
        guard needsWork(target.utf8) else { return target }
        var bytes = Array(target.utf8)
        let queryStart = bytes.firstIndex(of: UInt8(ascii: "?")) ?? bytes.count
        let query = bytes[queryStart...]
        bytes.removeSubrange(queryStart...)
        let path = removingDotSegments(decodingUnreserved(bytes))
        return String(decoding: path + query, as: UTF8.self)
    }

    /// What an HTTP/2 head's target is, in one pass over its bytes: origin-form as the proxy
    /// routes it directly (starts with `/`, no `#` anywhere), and whether `normalized` would
    /// change it. The bytes are lent with `withCString` (a native string's own, a small one's
    /// copied to the stack), where the UTF-8 view's generic `first`, `contains` and iteration
    /// were calls of their own per request.
    @inlinable
    public static func scanOriginForm(_ target: String) -> (isOriginForm: Bool, needsWork: Bool) {
        let count = target.utf8.count
        return target.withCString { cString in
            cString.withMemoryRebound(to: UInt8.self, capacity: count) { bytes in
                scanOriginForm(UnsafeBufferPointer(start: bytes, count: count))
            }
        }
    }

    /// `scanOriginForm(_:)` on the target's bytes.
    @inlinable
    static func scanOriginForm(_ bytes: UnsafeBufferPointer<UInt8>) -> (isOriginForm: Bool, needsWork: Bool) {
        guard bytes.first == UInt8(ascii: "/") else { return (false, false) }
        var needsWork = false
        var inPath = true
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == UInt8(ascii: "#") { return (false, false) }
            // `needsWork(_:)`'s tests, up to the query.
            if inPath {
                if byte == UInt8(ascii: "?") {
                    inPath = false
                } else if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") || (byte == UInt8(ascii: ".") && previous == UInt8(ascii: "/")) {
                    needsWork = true
                }
                previous = byte
            }
        }
        return (true, needsWork)
    }

    /// Whether the path part (up to `?`) has an escape, a backslash or a segment starting with `.`.
    private static func needsWork(_ target: String.UTF8View) -> Bool {
        var previous: UInt8 = 0
        for byte in target {
            if byte == UInt8(ascii: "?") { return false }
            if byte == UInt8(ascii: "%") || byte == UInt8(ascii: "\\") { return true }
            if byte == UInt8(ascii: ".") && previous == UInt8(ascii: "/") { return true }
            previous = byte
        }
        return false
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `\` to `/`, and `%XX` of an unreserved character to the character.
    private static func decodingUnreserved(_ path: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(path.count)
        var i = 0
        while i < path.count {
            let byte = path[i]
            if byte == UInt8(ascii: "%"), i + 2 < path.count, let high = hexValue(path[i + 1]), let low = hexValue(path[i + 2]),
                isUnreserved(high << 4 | low)
            {
                out.append(high << 4 | low)
                i += 3
                continue
            }
            out.append(byte == UInt8(ascii: "\\") ? UInt8(ascii: "/") : byte)
            i += 1
        }
        return out
    }

    /// RFC 3986 section 5.2.4 over `/`-separated segments.
    private static func removingDotSegments(_ path: [UInt8]) -> [UInt8] {
        guard path.first == UInt8(ascii: "/") else { return path }
        let segments = path.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        var kept: [ArraySlice<UInt8>] = []
        var endsWithSlash = false
        for (index, segment) in segments.enumerated() {
            let isLast = index == segments.count - 1
            if segment.elementsEqual([UInt8(ascii: ".")]) {
                endsWithSlash = isLast
            } else if segment.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                if !kept.isEmpty { kept.removeLast() }
                endsWithSlash = isLast
            } else {
                kept.append(segment)
                endsWithSlash = false
            }
        }
        var out: [UInt8] = []
        for segment in kept {
            out.append(UInt8(ascii: "/"))
            out += segment
        }
        if endsWithSlash || out.isEmpty { out.append(UInt8(ascii: "/")) }
        return out
    }
}
