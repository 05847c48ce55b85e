import MeshConfig

/// What routing reads of a request. The proxy conforms NIO's request head to it without
/// copying headers; the CLI and tests use `RouteRequest`.
public protocol RequestAttributes {
    /// Host or :authority, may carry ":port".
    var authority: String { get }
    var method: String { get }
    /// The request target path, may carry "?query"; normalized as a sidecar normalizes it
    /// (`PathNormalization`) by whoever builds the request.
    var path: String { get }
    /// "http" unless known otherwise.
    var scheme: String { get }
    /// The first value of a header; `lowercasedName` is already lower-case.
    func header(_ lowercasedName: String) -> String?
    /// Every value of a header joined with "," (no space), nil when there is none: what an
    /// Envoy header match compares (`HeaderUtility::getAllOfHeaderAsString`), so `x-a: 1` and
    /// `x-a: 2` are seen as "1,2". Defaults to `header(_:)`.
    func joinedHeader(_ lowercasedName: String) -> String?
    /// Calls `body` with the UTF-8 bytes of `authority`: a conformer that keeps the string can
    /// lend its bytes where `authority` hands out a copy (a retain and a release per request).
    /// Defaults to the bytes of `authority`. Not generic: routing calls it through the protocol,
    /// where a generic result made the runtime look up its type's metadata on every call.
    func withAuthorityUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void)
    /// Calls `body` with the UTF-8 bytes of `path`, as `withAuthorityUTF8` does for the authority.
    func withPathUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void)
    /// Calls `body` once with the bytes of `joinedHeader(lowercasedName)`, nil when there is no
    /// such header: a conformer that keeps its fields as bytes can lend a single value's bytes
    /// where `joinedHeader` makes a string of them (an allocation for a value over 15 bytes).
    /// Defaults to the bytes of `joinedHeader`.
    func withJoinedHeaderUTF8(_ lowercasedName: String, _ body: (UnsafeBufferPointer<UInt8>?) -> Void)
}

extension RequestAttributes {
    public func joinedHeader(_ lowercasedName: String) -> String? { header(lowercasedName) }
    public func withAuthorityUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void) { withUTF8Bytes(authority, body) }
    public func withPathUTF8(_ body: (UnsafeBufferPointer<UInt8>) -> Void) { withUTF8Bytes(path, body) }
    public func withJoinedHeaderUTF8(_ lowercasedName: String, _ body: (UnsafeBufferPointer<UInt8>?) -> Void) {
        guard let value = joinedHeader(lowercasedName) else { return body(nil) }
        withUTF8Bytes(value) { body($0) }
    }
}

/// A request as a plain value, for the CLI, tests and benchmarks.
public struct RouteRequest: RequestAttributes, Sendable, Hashable {
    public var authority: String
    public var method: String
    public var path: String
    public var scheme: String
    /// Header names are stored lower-cased, in the order given (the first of a name wins).
    public private(set) var headers: [Header]

    public struct Header: Sendable, Hashable {
        public var name: String
        public var value: String
    }

    public init(
        authority: String, method: String = "GET", path: String = "/",
        headers: [(String, String)] = [], scheme: String = "http"
    ) {
        self.authority = authority
        self.method = method
        // As a sidecar sees it: Istio's default normalize_path applies before routing.
        self.path = PathNormalization.normalized(path)
        self.scheme = scheme
        self.headers = headers.map { Header(name: $0.0.lowercased(), value: $0.1) }
    }

    public func header(_ lowercasedName: String) -> String? {
        for header in headers where header.name == lowercasedName { return header.value }
        return nil
    }

    public func joinedHeader(_ lowercasedName: String) -> String? {
        var joined: String? = nil
        for header in headers where header.name == lowercasedName {
            joined = joined.map { $0 + "," + header.value } ?? header.value
        }
        return joined
    }
}

/// Where the simulated pods (and other workloads) of a snapshot listen.
public struct EndpointAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// How the snapshot sees the (simulated) client that sends every request: meshsim has no
/// source workload, so match conditions about the source are decided against these values.
public struct RoutingOptions: Sendable, Hashable {
    /// The client proxy's namespace: short host names (`reviews`) resolve in it, as a sidecar's
    /// virtual host domains do, and `sourceNamespace`/`exportTo` are checked against it.
    public var clientNamespace: String
    /// The client workload's labels for `sourceLabels` matches (none by default, so a match
    /// block with `sourceLabels` never holds).
    public var clientLabels: [String: String]
    /// Istio's root namespace, the last place a DestinationRule is looked up.
    public var rootNamespace: String

    public init(clientNamespace: String = "default", clientLabels: [String: String] = [:], rootNamespace: String = "istio-system") {
        self.clientNamespace = clientNamespace
        self.clientLabels = clientLabels
        self.rootNamespace = rootNamespace
    }
}
