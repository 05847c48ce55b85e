import MeshConfig

/// What the router does with one request.
public enum RouteDecision: Sendable {
    /// Go upstream to `cluster`.
    case forward(Forward)
    case directResponse(status: Int, body: String?, route: RouteRef)
    case redirect(status: Int, location: String, route: RouteRef)
    /// 404, response flag NR.
    case noRoute
}

/// A chosen destination with everything the proxy needs to send the request there.
public struct Forward: Sendable {
    /// 503 UH is the proxy's answer when `cluster.endpoints` is empty.
    public let cluster: Cluster
    public let route: RouteRef
    /// nil = none (Istio's default).
    public let timeout: IstioDuration?
    /// Istio's default: 2 retries on connect-failure,refused-stream,unavailable,cancelled,503.
    public let retries: RetryPolicy
    /// Delay/abort with percentages.
    public let fault: FaultPolicy?
    public let rewrite: HTTPRewrite?
    /// `rewrite.uriRegexRewrite.match`, compiled once (added to the contract).
    public let rewriteRegex: RE2Regex?
    /// Route-level then destination-level, merged (the destination wins on a name both set).
    public let requestHeaders: HeaderOperations?
    public let responseHeaders: HeaderOperations?
    /// Requests to shadow (added to the contract: mirrors of the route).
    public let mirrors: [MirrorPolicy]
}

/// Which rule of which VirtualService a decision came from.
public struct RouteRef: Sendable, Hashable, CustomStringConvertible {
    /// `default/reviews`; empty for the default route of a service no VirtualService covers.
    public let virtualService: String
    public let ruleIndex: Int
    public let ruleName: String?

    public init(virtualService: String, ruleIndex: Int, ruleName: String?) {
        self.virtualService = virtualService
        self.ruleIndex = ruleIndex
        self.ruleName = ruleName
        self.headerValue = virtualService.isEmpty ? "default" : "\(virtualService)/\(ruleName ?? String(ruleIndex))"
    }

    /// The route Istio generates for a service without a VirtualService (named "default").
    public static let defaultRoute = RouteRef(virtualService: "", ruleIndex: 0, ruleName: nil)

    public var isDefaultRoute: Bool { virtualService.isEmpty }

    /// Value of `x-meshsim-route`: `default/reviews/canary`, `default/reviews/0` for an unnamed
    /// rule, or `default` for a service's default route.
    public let headerValue: String

    public var description: String { headerValue }
}
