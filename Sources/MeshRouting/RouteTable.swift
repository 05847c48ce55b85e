import MeshConfig

/// What a rule does once it matches.
enum RuleAction: Sendable {
    case forward(Forward)
    case weighted(WeightedSet)
    case redirect(RedirectTemplate)
    case directResponse(status: Int, body: String?)
}

/// One destination of a rule as written, for explanations (weight-0 ones included).
struct DestinationEntry: Sendable {
    let cluster: Cluster
    /// The weight Envoy uses: a single destination's weight is ignored (it takes everything,
    /// shown as 100); with several, an omitted weight is 0 and a weight of 0 is never chosen.
    let weight: UInt64
}

/// One HTTP rule of a VirtualService compiled for one port. A class, so that walking a table
/// does not copy (and reference-count) every field of every rule.
final class CompiledRule: Sendable {
    let ref: RouteRef
    /// Empty when the rule has no `match`: it takes every request.
    let blocks: [MatchBlock]
    let action: RuleAction
    let destinations: [DestinationEntry]

    init(ref: RouteRef, blocks: [MatchBlock], action: RuleAction, destinations: [DestinationEntry]) {
        self.ref = ref
        self.blocks = blocks
        self.action = action
        self.destinations = destinations
    }

}

extension CompiledRule {
    /// The answer of a rule that does not forward (redirect, direct response); nil for one that
    /// does. `block`: the match block that held (-1 for a rule without `match`).
    func localResponse(for request: some RequestAttributes, block: Int) -> RouteDecision? {
        switch action {
        case .redirect(let redirect):
            return .redirect(status: redirect.status, location: redirect.location(for: request, matchedPathBytes: matchedPathBytes(block: block, path: request.path)), route: ref)
        case .directResponse(let status, let body): return .directResponse(status: status, body: body, route: ref)
        case .forward, .weighted: return nil
        }
    }
}

extension CompiledRule {
    /// How many bytes at the start of `path` (query excluded) the route's path match covers, the
    /// part Envoy's `prefix_rewrite` replaces: the prefix for a prefix match, the whole path for
    /// an exact or regex match, and `/` when the block has no `uri` (Istio then matches prefix "/").
    func matchedPathBytes(block: Int, path: String) -> Int {
        let pathBytes = path.utf8.prefix { $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") }.count
        guard block >= 0, block < blocks.count, let uri = blocks[block].conditions.first(where: { $0.subject == .path }) else {
            return min(1, pathBytes)
        }
        switch uri.matcher {
        case .prefix(let value, _): return min(value.count, pathBytes)
        case .exact, .regex: return pathBytes
        // `uri: {}` sets no path specifier: Istio keeps prefix "/".
        case .present: return min(1, pathBytes)
        }
    }
}

/// A redirect: Envoy's RedirectAction as Istio fills it.
struct RedirectTemplate: Sendable {
    let status: Int
    let scheme: String?
    let authority: String?
    /// Port to put in the location; nil keeps the request's authority as is.
    let port: Int?
    let uri: String?
    /// `redirect.prefixRewrite`: replaces the matched part of the path, keeping the rest and the
    /// query (Envoy's RedirectAction `prefix_rewrite`; Istio sets it instead of `path_redirect`).
    var prefixRewrite: String? = nil

    /// `matchedPathBytes`: the part of the path the route matched (`CompiledRule.matchedPathBytes`).
    func location(for request: some RequestAttributes, matchedPathBytes: Int) -> String {
        let scheme = self.scheme ?? request.scheme
        // Istio's ApplyRedirect sends no port_redirect for 80 with http or 443 with https (the
        // redirect's scheme, else http on a sidecar), so Envoy then keeps the request's port.
        let portScheme = self.scheme ?? "http"
        var port = self.port
        if (port == 80 && portScheme == "http") || (port == 443 && portScheme == "https") { port = nil }
        var host: String
        if let authority, !authority.isEmpty {
            host = authority  // host_redirect, as given
        } else {
            // Envoy's processRequestHost: the request's port goes when a port_redirect replaces
            // it, or when the scheme changes away from x-forwarded-proto's and the port is that
            // protocol's default.
            host = request.authority
            let parts = AuthorityParts(host)
            if let requestPort = parts.port {
                let forwardedProto = request.header("x-forwarded-proto") ?? request.scheme
                var removePort = port != nil
                if scheme != forwardedProto {
                    removePort = removePort || (forwardedProto == "https" && requestPort == 443) || (forwardedProto == "http" && requestPort == 80)
                }
                if removePort { host = parts.host }
            }
        }
        if let port { host += ":\(port)" }
        var path = request.path
        if let prefixRewrite, !prefixRewrite.isEmpty {
            let bytes = Array(request.path.utf8)
            let cut = min(matchedPathBytes, bytes.count)
            path = prefixRewrite + String(decoding: bytes[cut...], as: UTF8.self)
        } else if let uri, !uri.isEmpty {
            // The request's query survives unless the new path brings its own (Envoy's path_redirect).
            if uri.contains("?") {
                path = uri
            } else if let q = request.path.firstIndex(of: "?") {
                path = uri + request.path[q...]
            } else {
                path = uri
            }
        }
        // Envoy makes the path absolute (Http::Utility::newUri).
        if !path.hasPrefix("/") { path = "/" + path }
        return "\(scheme)://\(host)\(path)"
    }
}

/// The routes of one virtual host on one port: the rules of the VirtualService bound to it, or
/// the default route of a service no VirtualService covers.
final class RouteTable: Sendable {
    /// `namespace/name`, nil for a default route.
    let virtualService: String?
    /// The host the table serves (FQDN, or a wildcard pattern).
    let host: String
    /// As Istio names the virtual host: `reviews.default.svc.cluster.local:9080`.
    let name: String
    let port: Int
    let rules: [CompiledRule]
    /// Rules of the VirtualService that cannot apply on this port (every match block names
    /// another port, a gateway or a source the client is not): index and why.
    let droppedRules: [(index: Int, reason: String)]
    /// The (lower-cased) header names the rules read, in slot order.
    let headerNames: [String]
    /// Where each of those names is read from.
    let headerSources: [HeaderSource]
    /// The rules' conditions, flat, for the hot path.
    let program: MatchProgram
    /// The rules' forward decisions, flat, for the hot path.
    let decisions: DecisionTable
    /// Whether any rule reads the method, authority or scheme (so they are fetched only then).
    let readsMethod: Bool
    let readsAuthority: Bool
    let readsScheme: Bool

    init(
        virtualService: String?, host: String, port: Int, rules: [CompiledRule], droppedRules: [(index: Int, reason: String)],
        headerNames: [String] = []
    ) {
        self.virtualService = virtualService
        self.headerNames = headerNames
        self.headerSources = headerNames.map(HeaderSource.init)
        let subjects = rules.flatMap(\.blocks).flatMap(\.conditions).map(\.subject)
        readsMethod = subjects.contains(.method)
        readsAuthority = subjects.contains(.authority)
        readsScheme = subjects.contains(.scheme)
        program = MatchProgram(rules)
        decisions = DecisionTable(rules)
        self.host = host
        self.name = "\(host):\(port)"
        self.port = port
        self.rules = rules
        self.droppedRules = droppedRules
    }
}

/// Where a header match reads its value. Envoy keeps the request line in pseudo-headers that
/// header matches can name (Istio's validation allows `:method`, `:scheme`, `:authority`,
/// `:path`), and stores the HTTP/1.1 `Host` as `:authority`, a lookup of `host` finding it
/// (HeaderMapImpl's static lookup table maps the legacy name); other names read every value
/// of the header, joined with ",".
enum HeaderSource: Sendable {
    case header, authority, method, scheme, path

    init(_ lowercasedName: String) {
        switch lowercasedName {
        case ":authority", "host": self = .authority
        case ":method": self = .method
        case ":scheme": self = .scheme
        // The whole request target, query included, as Envoy's `:path` holds it.
        case ":path": self = .path
        default: self = .header
        }
    }

    /// Calls `body` once with the bytes of the value, nil when the request has none.
    @inline(__always)
    func withValue(of request: some RequestAttributes, name: String, _ body: (UnsafeBufferPointer<UInt8>?) -> Void) {
        switch self {
        case .header: request.withJoinedHeaderUTF8(name, body)
        case .authority: request.withAuthorityUTF8 { body($0.isEmpty ? nil : $0) }
        case .method: withUTF8Bytes(request.method) { body($0) }
        case .scheme: withUTF8Bytes(request.scheme) { body($0) }
        case .path: request.withPathUTF8 { body($0) }
        }
    }
}

/// A request authority split into host and port, on the bytes (IPv6 literals in brackets).
struct AuthorityParts {
    let host: String
    let port: Int?

    init(_ authority: String) {
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[...close])
            let rest = authority[authority.index(after: close)...]
            port = rest.hasPrefix(":") ? Int(rest.dropFirst()) : nil
        } else if let colon = authority.lastIndex(of: ":"), !authority[..<colon].contains(":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...])
        } else {
            host = authority
            port = nil
        }
    }
}

/// A virtual host domain matched on the authority's host part: a host name on any port, a
/// wildcard (`*.example.com`), or `*` alone.
struct PatternDomain: Sendable {
    enum Kind: Sendable { case host, suffix, any }
    let kind: Kind
    /// The lower-cased host, or the suffix including its dot (`.example.com`).
    let bytes: [UInt8]
    /// The port the domain serves (an authority without port is taken as this one); nil for any port.
    let port: Int?
    let table: Int

    @inline(__always)
    func covers(host: UnsafeBufferPointer<UInt8>, port requestPort: Int?) -> Bool {
        if let requestPort, let port, requestPort != port { return false }
        switch kind {
        case .host: return host.equals(bytes, ignoringCase: true)
        case .suffix: return host.count > bytes.count && host.hasSuffixIgnoringCase(bytes)
        case .any: return true
        }
    }

    /// Envoy's order: exact names, then wildcards from the longest suffix, then `*`.
    static func precedes(_ a: PatternDomain, _ b: PatternDomain) -> Bool {
        func rank(_ d: PatternDomain) -> Int {
            switch d.kind {
            case .host: return 0
            case .suffix: return 1
            case .any: return 2
            }
        }
        if rank(a) != rank(b) { return rank(a) < rank(b) }
        return a.bytes.count > b.bytes.count
    }

    var text: String {
        switch kind {
        case .host: return String(decoding: bytes, as: UTF8.self)
        case .suffix: return "*" + String(decoding: bytes, as: UTF8.self)
        case .any: return "*"
        }
    }
}
