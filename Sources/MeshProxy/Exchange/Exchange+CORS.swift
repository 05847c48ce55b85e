import MeshHTTP2
import MeshRouting

/// Envoy's CORS filter, with the route's `corsPolicy` (Istio's HTTP filter chain runs it before
/// fault injection and the router): a request with an `Origin` is a CORS request; a preflight
/// (OPTIONS with `Access-Control-Request-Method`) is answered by the proxy itself, and every
/// answer to an allowed origin carries the `access-control-*` fields.
extension Exchange {
    /// Notes whether the route allows `origin`; answers a preflight and returns true when the
    /// request is one the proxy answers itself.
    func applyCORS(_ rule: CORSRule, origin: String) -> Bool {
        let allowed = rule.allows(origin: origin)
        cors = CORSState(rule: rule, allowedOrigin: allowed ? origin : nil)
        guard head.method.isOPTIONS,
              let requestedMethod = head.fields.first(name: "access-control-request-method"), !requestedMethod.isEmpty,
              allowed || !rule.forwardNotMatchingPreflights
        else { return false }
        var headers: [(String, String)] = []
        if allowed { headers.append(("access-control-allow-origin", origin)) }
        if rule.allowCredentials { headers.append(("access-control-allow-credentials", "true")) }
        if !rule.allowMethods.isEmpty {
            headers.append(("access-control-allow-methods", rule.allowMethods == "*" ? requestedMethod : rule.allowMethods))
        }
        if !rule.allowHeaders.isEmpty {
            let requestedHeaders = head.fields.first(name: "access-control-request-headers") ?? ""
            headers.append(("access-control-allow-headers", rule.allowHeaders == "*" ? requestedHeaders : rule.allowHeaders))
        }
        if !rule.maxAge.isEmpty { headers.append(("access-control-max-age", rule.maxAge)) }
        localReply(status: 200, body: nil, extraHeaders: headers)
        return true
    }

    /// The filter's side of every answer to an allowed origin, proxied or local: the origin
    /// echoed, and credentials and exposed headers as the rule says (replacing the pod's own).
    func addCORSHeaders(to headers: inout HeaderFields) {
        guard let cors, let origin = cors.allowedOrigin else { return }
        headers.replaceOrAdd(name: "access-control-allow-origin", value: origin)
        if cors.rule.allowCredentials { headers.replaceOrAdd(name: "access-control-allow-credentials", value: "true") }
        if !cors.rule.exposeHeaders.isEmpty { headers.replaceOrAdd(name: "access-control-expose-headers", value: cors.rule.exposeHeaders) }
    }
}

/// A CORS request's rule and, when the rule allows it, its origin.
struct CORSState {
    let rule: CORSRule
    let allowedOrigin: String?
}
