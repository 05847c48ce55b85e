import MeshConfig
import NIOHTTP1

/// Envoy's header rules for a proxied request and response: hop-by-hop headers go, the
/// forwarding headers come, and route header operations apply in Envoy's order (remove, then
/// set/append).
enum HeaderRules {
    /// `x-envoy-*` request headers that steer Envoy's router; it reads them and removes them
    /// before forwarding.
    static let envoyControlHeaders: Set<String> = [
        "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-max-retries",
        "x-envoy-retry-on", "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names",
        "x-envoy-retry-grpc-on", "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-hedge-on-per-try-timeout",
    ]

    /// Whether any header name starts with `x-envoy-` (one pass, no allocation), before looking
    /// for each control header by name.
    static func hasEnvoyHeader(_ headers: HTTPHeaders) -> Bool {
        for (name, _) in headers where name.utf8.count > 8 {
            var name = name
            let prefixed = name.withUTF8 { bytes in
                equalsLowercase(UnsafeBufferPointer(rebasing: bytes[0..<8]), "x-envoy-")
            }
            if prefixed { return true }
        }
        return false
    }

    /// Removes hop-by-hop headers, including any the `Connection` header names; keeps
    /// `te: trailers`.
    static func removeHopByHop(from headers: inout HTTPHeaders) {
        // One pass to learn what goes, without allocating when nothing does (the usual case);
        // then one rebuild rather than a scan of every header per name removed.
        var found = false
        var keepTrailersTE = false
        var named: [String] = []
        for (name, value) in headers where isHopByHop(name) {
            found = true
            if name.utf8.count == 10, name.lowercased() == "connection" {
                for token in value.split(separator: ",") {
                    let lowered = token.trimmingASCIIWhitespace().lowercased()
                    if !lowered.isEmpty && lowered != "close" && lowered != "keep-alive" { named.append(lowered) }
                }
            } else if name.utf8.count == 2, value.lowercased() == "trailers" {
                keepTrailersTE = true
            }
        }
        guard found else { return }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count)
        for (name, value) in headers where !isHopByHop(name) {
            if !named.isEmpty && named.contains(name.lowercased()) { continue }
            kept.add(name: name, value: value)
        }
        if keepTrailersTE { kept.add(name: "te", value: "trailers") }
        headers = kept
    }

    /// Whether `name` is a hop-by-hop header (RFC 9110 §7.6.1) that Envoy never forwards:
    /// connection, keep-alive, proxy-connection, proxy-authenticate, proxy-authorization, te,
    /// trailer, transfer-encoding (the proxy re-frames), upgrade. Compared case-insensitively on
    /// the bytes, without allocating.
    @inline(__always)
    static func isHopByHop(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { bytes -> Bool in
            switch bytes.count {
            case 2: return equalsLowercase(bytes, "te")
            case 7: return equalsLowercase(bytes, "trailer") || equalsLowercase(bytes, "upgrade")
            case 10: return equalsLowercase(bytes, "connection") || equalsLowercase(bytes, "keep-alive")
            case 16: return equalsLowercase(bytes, "proxy-connection")
            case 17: return equalsLowercase(bytes, "transfer-encoding")
            case 18: return equalsLowercase(bytes, "proxy-authenticate")
            case 19: return equalsLowercase(bytes, "proxy-authorization")
            default: return false
            }
        }
    }

    @inline(__always)
    private static func equalsLowercase(_ bytes: UnsafeBufferPointer<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        let expected = lowercase.utf8Start
        for index in 0..<bytes.count {
            var byte = bytes[index]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte |= 0x20 }
            if byte != expected[index] { return false }
        }
        return true
    }

    /// Applies a route's header operations (Istio `headers.request` / `headers.response`).
    static func apply(_ operations: HeaderOperations?, to headers: inout HTTPHeaders) {
        guard let operations else { return }
        for name in operations.remove ?? [] { headers.remove(name: name) }
        // Sorted so that several operations apply in a stable order.
        for (name, value) in (operations.set ?? [:]).sorted(by: { $0.key < $1.key }) {
            headers.replaceOrAdd(name: name, value: value)
        }
        for (name, value) in (operations.add ?? [:]).sorted(by: { $0.key < $1.key }) {
            headers.add(name: name, value: value)
        }
    }
}
