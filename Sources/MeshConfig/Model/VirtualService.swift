// Istio networking.istio.io VirtualService, every field of the v1 API.
// Field names match the YAML; the decoder rejects any other field.

public struct VirtualServiceSpec: Decodable, Sendable, Hashable {
    public var hosts: [String]?
    public var gateways: [String]?
    public var http: [HTTPRoute]?
    public var tls: [TLSRoute]?
    public var tcp: [TCPRoute]?
    public var exportTo: [String]?

    public init(hosts: [String]? = nil, gateways: [String]? = nil, http: [HTTPRoute]? = nil, tls: [TLSRoute]? = nil, tcp: [TCPRoute]? = nil, exportTo: [String]? = nil) {
        self.hosts = hosts
        self.gateways = gateways
        self.http = http
        self.tls = tls
        self.tcp = tcp
        self.exportTo = exportTo
    }
}

public struct HTTPRoute: Decodable, Sendable, Hashable {
    public var name: String?
    public var match: [HTTPMatchRequest]?
    public var route: [HTTPRouteDestination]?
    public var redirect: HTTPRedirect?
    public var directResponse: HTTPDirectResponse?
    public var delegate: Delegate?
    public var rewrite: HTTPRewrite?
    public var timeout: IstioDuration?
    public var retries: HTTPRetry?
    public var fault: HTTPFaultInjection?
    public var mirror: Destination?
    public var mirrors: [HTTPMirrorPolicy]?
    /// Deprecated integer percentage for `mirror`; `mirrorPercentage` replaces it. Istio's CRD
    /// also accepts it as `mirror_percent` (its one alternative field name).
    public var mirrorPercent: UInt32?
    public var mirrorPercentage: Percent?
    public var corsPolicy: CorsPolicy?
    public var headers: Headers?

    public init(name: String? = nil, match: [HTTPMatchRequest]? = nil, route: [HTTPRouteDestination]? = nil, redirect: HTTPRedirect? = nil, directResponse: HTTPDirectResponse? = nil, delegate: Delegate? = nil, rewrite: HTTPRewrite? = nil, timeout: IstioDuration? = nil, retries: HTTPRetry? = nil, fault: HTTPFaultInjection? = nil, mirror: Destination? = nil, mirrors: [HTTPMirrorPolicy]? = nil, mirrorPercent: UInt32? = nil, mirrorPercentage: Percent? = nil, corsPolicy: CorsPolicy? = nil, headers: Headers? = nil) {
        self.name = name
        self.match = match
        self.route = route
        self.redirect = redirect
        self.directResponse = directResponse
        self.delegate = delegate
        self.rewrite = rewrite
        self.timeout = timeout
        self.retries = retries
        self.fault = fault
        self.mirror = mirror
        self.mirrors = mirrors
        self.mirrorPercent = mirrorPercent
        self.mirrorPercentage = mirrorPercentage
        self.corsPolicy = corsPolicy
        self.headers = headers
    }

    enum CodingKeys: String, CodingKey {
        case name, match, route, redirect, directResponse, delegate, rewrite, timeout, retries, fault
        case mirror, mirrors, mirrorPercent, mirrorPercentage, corsPolicy, headers
        /// `+kubebuilder:altName=mirror_percent` in virtual_service.proto: the CRD lists both spellings.
        case mirrorPercentAltName = "mirror_percent"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        // A null match (`match: [null]`) is an empty one, matching every request: Istio's JSON
        // reader makes it so, and its case "match with nil element" calls it valid.
        match = try c.decodeIfPresent([HTTPMatchRequest?].self, forKey: .match)?.map { $0 ?? HTTPMatchRequest() }
        route = try c.decodeIfPresent([HTTPRouteDestination].self, forKey: .route)
        redirect = try c.decodeIfPresent(HTTPRedirect.self, forKey: .redirect)
        directResponse = try c.decodeIfPresent(HTTPDirectResponse.self, forKey: .directResponse)
        delegate = try c.decodeIfPresent(Delegate.self, forKey: .delegate)
        rewrite = try c.decodeIfPresent(HTTPRewrite.self, forKey: .rewrite)
        timeout = try c.decodeIfPresent(IstioDuration.self, forKey: .timeout)
        retries = try c.decodeIfPresent(HTTPRetry.self, forKey: .retries)
        fault = try c.decodeIfPresent(HTTPFaultInjection.self, forKey: .fault)
        mirror = try c.decodeIfPresent(Destination.self, forKey: .mirror)
        mirrors = try c.decodeIfPresent([HTTPMirrorPolicy].self, forKey: .mirrors)
        // Istio's JSON decoder (golang/protobuf jsonpb) reads the proto name, then the JSON name,
        // so `mirrorPercent` wins when both are written.
        let altMirrorPercent = try c.decodeIfPresent(UInt32.self, forKey: .mirrorPercentAltName)
        mirrorPercent = try c.decodeIfPresent(UInt32.self, forKey: .mirrorPercent) ?? altMirrorPercent
        mirrorPercentage = try c.decodeIfPresent(Percent.self, forKey: .mirrorPercentage)
        corsPolicy = try c.decodeIfPresent(CorsPolicy.self, forKey: .corsPolicy)
        headers = try c.decodeIfPresent(Headers.self, forKey: .headers)
    }
}

public struct Delegate: Decodable, Sendable, Hashable {
    public var name: String?
    public var namespace: String?
    public init(name: String? = nil, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }
}

public struct HTTPMatchRequest: Decodable, Sendable, Hashable {
    public var name: String?
    public var uri: StringMatch?
    public var scheme: StringMatch?
    public var method: StringMatch?
    public var authority: StringMatch?
    public var headers: [String: StringMatch]?
    public var port: UInt32?
    public var sourceLabels: [String: String]?
    public var gateways: [String]?
    public var queryParams: [String: StringMatch]?
    public var ignoreUriCase: Bool?
    public var withoutHeaders: [String: StringMatch]?
    public var sourceNamespace: String?
    public var statPrefix: String?

    public init(name: String? = nil, uri: StringMatch? = nil, scheme: StringMatch? = nil, method: StringMatch? = nil, authority: StringMatch? = nil, headers: [String: StringMatch]? = nil, port: UInt32? = nil, sourceLabels: [String: String]? = nil, gateways: [String]? = nil, queryParams: [String: StringMatch]? = nil, ignoreUriCase: Bool? = nil, withoutHeaders: [String: StringMatch]? = nil, sourceNamespace: String? = nil, statPrefix: String? = nil) {
        self.name = name
        self.uri = uri
        self.scheme = scheme
        self.method = method
        self.authority = authority
        self.headers = headers
        self.port = port
        self.sourceLabels = sourceLabels
        self.gateways = gateways
        self.queryParams = queryParams
        self.ignoreUriCase = ignoreUriCase
        self.withoutHeaders = withoutHeaders
        self.sourceNamespace = sourceNamespace
        self.statPrefix = statPrefix
    }
}

public struct HTTPRouteDestination: Decodable, Sendable, Hashable {
    public var destination: Destination?
    public var weight: Int32?
    public var headers: Headers?
    public init(destination: Destination? = nil, weight: Int32? = nil, headers: Headers? = nil) {
        self.destination = destination
        self.weight = weight
        self.headers = headers
    }
}

/// A TCP or TLS route destination.
public struct RouteDestination: Decodable, Sendable, Hashable {
    public var destination: Destination?
    public var weight: Int32?
    public init(destination: Destination? = nil, weight: Int32? = nil) {
        self.destination = destination
        self.weight = weight
    }
}

public struct TLSRoute: Decodable, Sendable, Hashable {
    public var match: [TLSMatchAttributes]?
    public var route: [RouteDestination]?
}

public struct TCPRoute: Decodable, Sendable, Hashable {
    public var match: [L4MatchAttributes]?
    public var route: [RouteDestination]?
}

public struct TLSMatchAttributes: Decodable, Sendable, Hashable {
    public var sniHosts: [String]?
    public var destinationSubnets: [String]?
    public var port: UInt32?
    public var sourceLabels: [String: String]?
    public var gateways: [String]?
    public var sourceNamespace: String?
}

public struct L4MatchAttributes: Decodable, Sendable, Hashable {
    public var destinationSubnets: [String]?
    public var port: UInt32?
    public var sourceSubnet: String?
    public var sourceLabels: [String: String]?
    public var gateways: [String]?
    public var sourceNamespace: String?
}

public struct HTTPRedirect: Decodable, Sendable, Hashable {
    public enum DerivePort: String, IstioEnum {
        case fromProtocolDefault = "FROM_PROTOCOL_DEFAULT"
        case fromRequestPort = "FROM_REQUEST_PORT"
    }
    public var uri: String?
    public var authority: String?
    public var port: UInt32?
    public var derivePort: DerivePort?
    public var scheme: String?
    public var redirectCode: UInt32?
    /// Replaces the matched URI prefix in the redirect (requires every URI match to be a prefix match).
    public var prefixRewrite: String?
    public init(uri: String? = nil, authority: String? = nil, port: UInt32? = nil, derivePort: DerivePort? = nil, scheme: String? = nil, redirectCode: UInt32? = nil, prefixRewrite: String? = nil) {
        self.uri = uri
        self.authority = authority
        self.port = port
        self.derivePort = derivePort
        self.scheme = scheme
        self.redirectCode = redirectCode
        self.prefixRewrite = prefixRewrite
    }
}

public struct HTTPBody: Decodable, Sendable, Hashable {
    public var string: String?
    /// Base64 in YAML, as protobuf's JSON form writes bytes.
    public var bytes: String?
    public init(string: String? = nil, bytes: String? = nil) {
        self.string = string
        self.bytes = bytes
    }
}

public struct HTTPDirectResponse: Decodable, Sendable, Hashable {
    public var status: UInt32?
    public var body: HTTPBody?
    public init(status: UInt32? = nil, body: HTTPBody? = nil) {
        self.status = status
        self.body = body
    }
}

public struct RegexRewrite: Decodable, Sendable, Hashable {
    public var match: String?
    public var rewrite: String?
    public init(match: String? = nil, rewrite: String? = nil) {
        self.match = match
        self.rewrite = rewrite
    }
}

public struct HTTPRewrite: Decodable, Sendable, Hashable {
    public var uri: String?
    public var authority: String?
    public var uriRegexRewrite: RegexRewrite?
    public init(uri: String? = nil, authority: String? = nil, uriRegexRewrite: RegexRewrite? = nil) {
        self.uri = uri
        self.authority = authority
        self.uriRegexRewrite = uriRegexRewrite
    }
}

public struct HTTPRetry: Decodable, Sendable, Hashable {
    public var attempts: Int32?
    public var perTryTimeout: IstioDuration?
    public var retryOn: String?
    public var retryRemoteLocalities: Bool?
    public var retryIgnorePreviousHosts: Bool?
    public var backoff: IstioDuration?
    public init(attempts: Int32? = nil, perTryTimeout: IstioDuration? = nil, retryOn: String? = nil, retryRemoteLocalities: Bool? = nil, retryIgnorePreviousHosts: Bool? = nil, backoff: IstioDuration? = nil) {
        self.attempts = attempts
        self.perTryTimeout = perTryTimeout
        self.retryOn = retryOn
        self.retryRemoteLocalities = retryRemoteLocalities
        self.retryIgnorePreviousHosts = retryIgnorePreviousHosts
        self.backoff = backoff
    }
}

public struct CorsPolicy: Decodable, Sendable, Hashable {
    public enum UnmatchedPreflights: String, IstioEnum {
        case unspecified = "UNSPECIFIED"
        case forward = "FORWARD"
        case ignore = "IGNORE"
    }
    public var allowOrigin: [String]?
    public var allowOrigins: [StringMatch]?
    public var allowMethods: [String]?
    public var allowHeaders: [String]?
    public var exposeHeaders: [String]?
    public var maxAge: IstioDuration?
    public var allowCredentials: Bool?
    public var unmatchedPreflights: UnmatchedPreflights?
    public init(allowOrigin: [String]? = nil, allowOrigins: [StringMatch]? = nil, allowMethods: [String]? = nil, allowHeaders: [String]? = nil, exposeHeaders: [String]? = nil, maxAge: IstioDuration? = nil, allowCredentials: Bool? = nil, unmatchedPreflights: UnmatchedPreflights? = nil) {
        self.allowOrigin = allowOrigin
        self.allowOrigins = allowOrigins
        self.allowMethods = allowMethods
        self.allowHeaders = allowHeaders
        self.exposeHeaders = exposeHeaders
        self.maxAge = maxAge
        self.allowCredentials = allowCredentials
        self.unmatchedPreflights = unmatchedPreflights
    }
}

public struct HTTPFaultInjection: Decodable, Sendable, Hashable {
    public struct Delay: Decodable, Sendable, Hashable {
        public var fixedDelay: IstioDuration?
        public var exponentialDelay: IstioDuration?
        /// Deprecated integer percentage; `percentage` replaces it.
        public var percent: Int32?
        public var percentage: Percent?
        public init(fixedDelay: IstioDuration? = nil, exponentialDelay: IstioDuration? = nil, percent: Int32? = nil, percentage: Percent? = nil) {
            self.fixedDelay = fixedDelay
            self.exponentialDelay = exponentialDelay
            self.percent = percent
            self.percentage = percentage
        }
    }
    public struct Abort: Decodable, Sendable, Hashable {
        public var httpStatus: Int32?
        public var grpcStatus: String?
        public var http2Error: String?
        public var percentage: Percent?
        public init(httpStatus: Int32? = nil, grpcStatus: String? = nil, http2Error: String? = nil, percentage: Percent? = nil) {
            self.httpStatus = httpStatus
            self.grpcStatus = grpcStatus
            self.http2Error = http2Error
            self.percentage = percentage
        }
    }
    public var delay: Delay?
    public var abort: Abort?
    public init(delay: Delay? = nil, abort: Abort? = nil) {
        self.delay = delay
        self.abort = abort
    }
}

public struct HTTPMirrorPolicy: Decodable, Sendable, Hashable {
    public var destination: Destination?
    public var percentage: Percent?
    public init(destination: Destination? = nil, percentage: Percent? = nil) {
        self.destination = destination
        self.percentage = percentage
    }
}
