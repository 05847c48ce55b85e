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
///
/// A struct over one shared, immutable storage object: a decision is built at compile time and
/// handed out per request, so copying it costs one reference count, not one per field.
public struct Forward: Sendable {
    // Visible to inlinable code: the proxy's per-request tests (`hasFault`, `clusterState`...)
    // inline to field loads instead of a call, and the retain and release of the storage around it.
    @usableFromInline let storage: Storage

    /// 503 UH is the proxy's answer when `cluster.endpoints` is empty.
    @inlinable public var cluster: Cluster { storage.cluster }
    @inlinable public var route: RouteRef { storage.route }
    /// nil = none (Istio's default).
    @inlinable public var timeout: IstioDuration? { storage.timeout }
    /// Istio's default: 2 retries on connect-failure,refused-stream,unavailable,cancelled,503.
    @inlinable public var retries: RetryPolicy { storage.retries }
    /// Delay/abort with percentages.
    @inlinable public var fault: FaultPolicy? { storage.fault }
    /// The rule's `corsPolicy` (Envoy's CORS filter runs before the fault filter).
    @inlinable public var cors: CORSRule? { storage.cors }
    @inlinable public var rewrite: HTTPRewrite? { storage.rewrite }
    /// `rewrite.uriRegexRewrite.match`, compiled once (added to the contract).
    @inlinable public var rewriteRegex: RE2Regex? { storage.rewriteRegex }
    /// Route-level and destination-level header operations, in the order Envoy runs them.
    @inlinable public var requestHeaders: HeaderMutations? { storage.requestHeaders }
    @inlinable public var responseHeaders: HeaderMutations? { storage.responseHeaders }
    /// The Host/`:authority` the upstream gets instead of the request's: `rewrite.authority`, else
    /// an `:authority`/`host` in the route's `headers.request`, else in the destination's.
    @inlinable public var authorityRewrite: String? { storage.authorityRewrite }
    /// Requests to shadow (added to the contract: mirrors of the route).
    @inlinable public var mirrors: [MirrorPolicy] { storage.mirrors }
    /// Whether there are `mirrors`, and whether there are `requestHeaders`: tests that copy
    /// nothing out (each getter above returns a retained copy).
    @inlinable public var hasMirrors: Bool { storage.hasMirrors }
    @inlinable public var hasRequestHeaderRules: Bool { storage.hasRequestHeaderRules }
    @inlinable public var hasResponseHeaderRules: Bool { storage.hasResponseHeaderRules }
    /// Whether there is a `rewrite`, a `fault` and a `cors` rule: the same kind of test, read from
    /// flags set once (each getter copies the whole optional value out, and so did comparing
    /// the stored one with nil: a memmove per request even when it is nil).
    @inlinable public var hasRewrite: Bool { storage.hasRewrite }
    @inlinable public var hasFault: Bool { storage.hasFault }
    @inlinable public var hasCORS: Bool { storage.hasCORS }
    /// The route timeout in nanoseconds (nil: none), the cluster's state and whether there is an
    /// `authorityRewrite`: read in place, where `timeout`, `cluster` and `authorityRewrite` each
    /// return a retained copy (the proxy reads these for every request).
    @inlinable public var timeoutNanoseconds: Int64? { storage.timeoutNanoseconds }
    @inlinable public var clusterState: ClusterState { storage.clusterState }
    @inlinable public var hasAuthorityRewrite: Bool { storage.hasAuthorityRewrite }

    init(
        cluster: Cluster, route: RouteRef, timeout: IstioDuration?, retries: RetryPolicy, fault: FaultPolicy?, rewrite: HTTPRewrite?,
        rewriteRegex: RE2Regex?, requestHeaders: HeaderMutations?, responseHeaders: HeaderMutations?, authorityRewrite: String?,
        mirrors: [MirrorPolicy], cors: CORSRule? = nil
    ) {
        storage = Storage(
            cluster: cluster, route: route, timeout: timeout, retries: retries, fault: fault, rewrite: rewrite, rewriteRegex: rewriteRegex,
            requestHeaders: requestHeaders, responseHeaders: responseHeaders, authorityRewrite: authorityRewrite, mirrors: mirrors,
            cors: cors)
    }

    @usableFromInline final class Storage: Sendable {
        @usableFromInline let cluster: Cluster
        @usableFromInline let route: RouteRef
        @usableFromInline let timeout: IstioDuration?
        @usableFromInline let retries: RetryPolicy
        @usableFromInline let fault: FaultPolicy?
        @usableFromInline let rewrite: HTTPRewrite?
        @usableFromInline let rewriteRegex: RE2Regex?
        @usableFromInline let requestHeaders: HeaderMutations?
        @usableFromInline let responseHeaders: HeaderMutations?
        @usableFromInline let authorityRewrite: String?
        @usableFromInline let mirrors: [MirrorPolicy]
        @usableFromInline let cors: CORSRule?
        @usableFromInline let hasRewrite: Bool
        @usableFromInline let hasFault: Bool
        @usableFromInline let hasCORS: Bool
        @usableFromInline let hasMirrors: Bool
        @usableFromInline let hasRequestHeaderRules: Bool
        @usableFromInline let hasResponseHeaderRules: Bool
        @usableFromInline let hasAuthorityRewrite: Bool
        @usableFromInline let timeoutNanoseconds: Int64?
        @usableFromInline let clusterState: ClusterState

        init(
            cluster: Cluster, route: RouteRef, timeout: IstioDuration?, retries: RetryPolicy, fault: FaultPolicy?, rewrite: HTTPRewrite?,
            rewriteRegex: RE2Regex?, requestHeaders: HeaderMutations?, responseHeaders: HeaderMutations?, authorityRewrite: String?,
            mirrors: [MirrorPolicy], cors: CORSRule?
        ) {
            self.cluster = cluster
            self.route = route
            self.timeout = timeout
            self.retries = retries
            self.fault = fault
            self.rewrite = rewrite
            self.rewriteRegex = rewriteRegex
            self.requestHeaders = requestHeaders
            self.responseHeaders = responseHeaders
            self.authorityRewrite = authorityRewrite
            self.mirrors = mirrors
            self.cors = cors
            self.hasRewrite = rewrite != nil
            self.hasFault = fault != nil
            self.hasCORS = cors != nil
            self.hasMirrors = !mirrors.isEmpty
            self.hasRequestHeaderRules = requestHeaders != nil
            self.hasResponseHeaderRules = responseHeaders != nil
            self.hasAuthorityRewrite = authorityRewrite != nil
            self.timeoutNanoseconds = timeout?.nanoseconds
            self.clusterState = cluster.state
        }
    }
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
