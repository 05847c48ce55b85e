import MeshConfig
import MeshRouting
import MeshHTTP2
import NIOHTTP1

/// Envoy's header rules for a proxied request and response: hop-by-hop headers go, the
/// forwarding headers come, and route header operations apply in Envoy's order (remove, then
/// set/append).
enum HeaderRules {
    /// `x-envoy-*` request headers that steer Envoy's router; it reads them and removes them
    /// before forwarding. (`isEnvoyControlHeader(_: UnsafeRawBufferPointer)` lists them by
    /// length too: a name added here is added there.)
    static let envoyControlHeaders: Set<String> = [
        "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-max-retries",
        "x-envoy-retry-on", "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names",
        "x-envoy-retry-grpc-on", "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-hedge-on-per-try-timeout",
    ]

    /// Records what a hop-by-hop field implies for the ones kept: the fields a Connection header
    /// names go too (except its `close`/`keep-alive` options); `te: trailers` stays.
    static func noteHopByHop(_ name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, named: inout [String], keepTrailersTE: inout Bool) {
        if FieldName.equalsLowercase(name, "connection") {
            noteHopByHop("connection", String(decoding: value, as: UTF8.self), named: &named, keepTrailersTE: &keepTrailersTE)
        } else {
            keepTrailersTE = keepTrailersTE || isTrailersTE(hopByHop: name, value)
        }
    }

    /// The same, for a field given as strings.
    static func noteHopByHop(_ name: String, _ value: String, named: inout [String], keepTrailersTE: inout Bool) {
        if name.utf8.count == 10, name.lowercased() == "connection" {
            for token in value.split(separator: ",") {
                let lowered = token.trimmingASCIIWhitespace().lowercased()
                if !lowered.isEmpty && lowered != "close" && lowered != "keep-alive" { named.append(lowered) }
            }
        } else if name.utf8.count == 2, value.lowercased() == "trailers" {
            keepTrailersTE = true
        }
    }

    /// Whether a hop-by-hop field (`isHopByHop`: the only one of two bytes is `te`) is
    /// `te: trailers`, the one hop-by-hop field Envoy passes on.
    @inline(__always)
    static func isTrailersTE(hopByHop name: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) -> Bool {
        name.count == 2 && FieldName.equalsLowercase(value, "trailers")
    }

    /// Whether `name` is one of the `x-envoy-*` control headers (checked on the prefix first).
    static func isEnvoyControlHeader(_ name: String) -> Bool {
        guard name.utf8.count > 8, FieldName.hasLowercasePrefix(name, "x-envoy-") else { return false }
        return envoyControlHeaders.contains(name.lowercased())
    }

    /// The same, for a name given as bytes: compared in place by length, then with the names
    /// of that length in `envoyControlHeaders` (a string made and lower-cased, then hashed, was
    /// two allocations per `x-envoy-` field a client sent, such as Istio's
    /// `x-envoy-peer-metadata-id`). A name with a non-ASCII byte is judged as a string.
    static func isEnvoyControlHeader(_ name: UnsafeRawBufferPointer) -> Bool {
        guard name.count > 8, FieldName.equalsLowercase(UnsafeRawBufferPointer(rebasing: name[0..<8]), "x-envoy-") else { return false }
        guard !name.contains(where: { $0 >= 0x80 }) else {
            return envoyControlHeaders.contains(String(decoding: name, as: UTF8.self).lowercased())
        }
        let bytes = name.assumingMemoryBound(to: UInt8.self)
        switch bytes.count {
        case 16: return FieldName.equalsLowercase(bytes, "x-envoy-retry-on")
        case 19: return FieldName.equalsLowercase(bytes, "x-envoy-max-retries")
        case 21: return FieldName.equalsLowercase(bytes, "x-envoy-retry-grpc-on")
        case 30:
            return FieldName.equalsLowercase(bytes, "x-envoy-upstream-rq-timeout-ms")
                || FieldName.equalsLowercase(bytes, "x-envoy-retriable-status-codes")
                || FieldName.equalsLowercase(bytes, "x-envoy-retriable-header-names")
        case 32: return FieldName.equalsLowercase(bytes, "x-envoy-hedge-on-per-try-timeout")
        case 38: return FieldName.equalsLowercase(bytes, "x-envoy-upstream-rq-per-try-timeout-ms")
        case 40: return FieldName.equalsLowercase(bytes, "x-envoy-upstream-rq-timeout-alt-response")
        default: return false
        }
    }

    /// Whether `name` is a hop-by-hop header (RFC 9110 §7.6.1) that Envoy never forwards:
    /// connection, keep-alive, proxy-connection, proxy-authenticate, proxy-authorization, te,
    /// trailer, transfer-encoding (the proxy re-frames), upgrade. Compared case-insensitively on
    /// the bytes, without allocating.
    static func isHopByHop(_ name: String) -> Bool {
        isHopByHop(name.utf8)
    }

    /// The same test on a name's bytes.
    static func isHopByHop<Name: Collection>(_ name: Name) -> Bool where Name.Element == UInt8 {
        switch name.count {
        case 2: return FieldName.equalsLowercase(name, "te")
        case 7: return FieldName.equalsLowercase(name, "trailer") || FieldName.equalsLowercase(name, "upgrade")
        case 10: return FieldName.equalsLowercase(name, "connection") || FieldName.equalsLowercase(name, "keep-alive")
        case 16: return FieldName.equalsLowercase(name, "proxy-connection")
        case 17: return FieldName.equalsLowercase(name, "transfer-encoding")
        case 18: return FieldName.equalsLowercase(name, "proxy-authenticate")
        case 19: return FieldName.equalsLowercase(name, "proxy-authorization")
        default: return false
        }
    }

    /// Applies a route's header operations (Istio `headers.request` / `headers.response`), step
    /// by step in the order MeshRouting laid out (Envoy's), to the fields as bytes.
    static func apply(_ mutations: HeaderMutations?, to fields: inout HeaderFields) {
        guard let mutations else { return }
        for step in mutations.steps {
            switch step {
            case .remove(let name): fields.removeAll(name: name)
            case .set(let name, let value): fields.replaceOrAdd(name: name, value: value)
            case .append(let name, let value): fields.append(name: name, value: value)
            }
        }
    }
}
