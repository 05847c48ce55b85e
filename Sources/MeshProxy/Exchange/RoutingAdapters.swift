import MeshConfig
import MeshRouting
import NIOCore

/// Where the proxy reads MeshRouting's policy values (faults, hash keys, rewrites). Kept in
/// one place so the request path depends on their shapes only here.
enum FaultDecision {
    /// The delay to inject, if this request draws one.
    static func delay(_ fault: FaultPolicy?, random: inout FastRandom) -> TimeAmount? {
        guard let delay = fault?.delay, random.chance(percent: delay.percentage) else { return nil }
        return .nanoseconds(delay.duration.nanoseconds)
    }

    /// The answer to abort with, if this request draws one: an HTTP status, or for a gRPC
    /// abort 200 with `grpc-status` (as Envoy's fault filter answers gRPC).
    static func abort(_ fault: FaultPolicy?, random: inout FastRandom) -> (status: Int, grpcStatus: String?)? {
        guard let abort = fault?.abort, random.chance(percent: abort.percentage) else { return nil }
        if let status = abort.httpStatus { return (status, nil) }
        return (200, abort.grpcStatus)
    }
}

enum ConsistentHashing {
    /// The request's hash for a ring-hash cluster, and the cookie to set when Envoy would
    /// generate one (a cookie key with a TTL that the request lacks). nil hash: no key, so
    /// the pick is random (as Envoy does).
    static func hash(for key: HashKey, request: DownstreamRequest, sourceIP: String) -> (hash: UInt64?, setCookie: String?) {
        switch key {
        case .header(let name):
            return (request.header(name.lowercased()).map(HashRing.hash), nil)
        case .sourceIP:
            return (sourceIP.isEmpty ? nil : HashRing.hash(sourceIP), nil)
        case .queryParameter(let name):
            return (queryValue(name, in: request.path).map(HashRing.hash), nil)
        case .cookie(let name, let path, let ttl):
            if let value = cookieValue(name, in: request.cookieHeaderValues) {
                return (HashRing.hash(value), nil)
            }
            guard let ttl else { return (nil, nil) }
            // Envoy derives the new cookie from the client's address, so that client sticks.
            let value = String(HashRing.hash(sourceIP), radix: 16)
            var cookie = "\(name)=\"\(value)\"; Max-Age=\(ttl.nanoseconds / 1_000_000_000)"
            if let path, !path.isEmpty { cookie += "; Path=\(path)" }
            cookie += "; HttpOnly"
            return (HashRing.hash(value), cookie)
        }
    }

    static func queryValue(_ name: String, in path: String) -> String? {
        guard let question = path.firstIndex(of: "?") else { return nil }
        for pair in path[path.index(after: question)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.first.map(String.init) == name { return parts.count > 1 ? String(parts[1]) : "" }
        }
        return nil
    }

    static func cookieValue(_ name: String, in headers: [String]) -> String? {
        for header in headers {
            for pair in header.split(separator: ";") {
                let trimmed = pair.trimmingASCIIWhitespace()
                let parts = trimmed.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2, parts[0] == name {
                    var value = parts[1]
                    if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = value.dropFirst().dropLast() }
                    return String(value)
                }
            }
        }
        return nil
    }
}

enum PathRewriter {
    /// Istio's `rewrite.uri` is Envoy's `prefix_rewrite`: it replaces the URI prefix the route
    /// matched (the whole path for an exact or regex match, `/` when the match block has no URI
    /// condition). `uriRegexRewrite` replaces every match of its RE2 pattern in the path
    /// (query excluded), `\1` naming groups. nil: the path stays.
    static func rewrite(path: String, forward: Forward, snapshot: RoutingSnapshot, request: DownstreamRequest) -> String? {
        let queryStart = path.firstIndex(of: "?") ?? path.endIndex
        let pathOnly = String(path[..<queryStart])
        let query = String(path[queryStart...])
        if let regex = forward.rewriteRegex, let replacement = forward.rewrite?.uriRegexRewrite?.rewrite {
            return regex.replacingAll(in: pathOnly, with: replacement).map { $0 + query }
        }
        guard let uri = forward.rewrite?.uri else { return nil }
        let matched = matchedPrefix(snapshot.explain(request).matchConditions, path: pathOnly)
        guard pathOnly.hasPrefix(matched) else { return nil }
        return uri + pathOnly.dropFirst(matched.count) + query
    }

    /// The URI prefix of the match block that held, from the explanation's conditions
    /// (`uri prefix "/api"`, `uri exact "/x"`); `/` without a URI condition. Read only for
    /// routes that rewrite, since MeshRouting's `Forward` does not carry the matched prefix.
    static func matchedPrefix(_ conditions: String?, path: String) -> String {
        guard let conditions else { return "/" }
        // Envoy's prefix_rewrite swaps the whole path for exact and regex path matches
        // (PathRouteEntryImpl, RegexRouteEntryImpl hand the full path over as the matched part).
        if conditions.hasPrefix("uri exact ") || conditions.hasPrefix("uri regex ") { return path }
        let lead = "uri prefix \""
        guard conditions.hasPrefix(lead) else { return "/" }
        let rest = conditions.dropFirst(lead.count)
        guard let close = rest.firstIndex(of: "\"") else { return "/" }
        let prefix = String(rest[..<close])
        if conditions.dropFirst(lead.count + prefix.utf8.count + 1).hasPrefix(" (ignoring case)") {
            return String(path.prefix(prefix.count))
        }
        return prefix
    }
}
