import MeshConfig
import NIOHTTP1

/// Envoy's header rules for a proxied request and response: hop-by-hop headers go, the
/// forwarding headers come, and route header operations apply in Envoy's order (remove, then
/// set/append).
enum HeaderRules {
    /// Hop-by-hop headers (RFC 9110 §7.6.1) that Envoy never forwards. `transfer-encoding` is
    /// re-framed by the proxy; `te` is dropped unless it is `trailers`.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
        "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// `x-envoy-*` request headers that steer Envoy's router; it reads them and removes them
    /// before forwarding.
    static let envoyControlHeaders: Set<String> = [
        "x-envoy-upstream-rq-timeout-ms", "x-envoy-upstream-rq-per-try-timeout-ms", "x-envoy-max-retries",
        "x-envoy-retry-on", "x-envoy-retriable-status-codes", "x-envoy-retriable-header-names",
        "x-envoy-retry-grpc-on", "x-envoy-upstream-rq-timeout-alt-response", "x-envoy-hedge-on-per-try-timeout",
    ]

    /// Removes hop-by-hop headers, including any the `Connection` header names.
    static func removeHopByHop(from headers: inout HTTPHeaders) {
        var named: [String] = []
        for value in headers[canonicalForm: "connection"] {
            let token = value.lowercased()
            if !token.isEmpty && token != "close" && token != "keep-alive" { named.append(String(token)) }
        }
        let keepTrailersTE = headers[canonicalForm: "te"].contains { $0.lowercased() == "trailers" }
        var needsRemoval = false
        for (name, _) in headers where hopByHop.contains(name.lowercased()) {
            needsRemoval = true
            break
        }
        if needsRemoval {
            for name in hopByHop { headers.remove(name: name) }
        }
        for name in named { headers.remove(name: name) }
        if keepTrailersTE { headers.add(name: "te", value: "trailers") }
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
