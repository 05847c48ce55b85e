import NIOCore
import NIOHTTP1

/// The state of an exchange that most requests never set: request trailers, retry bookkeeping,
/// the timers of a route or retry policy, a pool wait, mirrors, CORS, a consistent-hash cookie,
/// the gRPC status. Kept apart in one object, made the first time one of them is set: as stored
/// properties of the exchange, each cost a release when the exchange went (about a dozen per
/// request, nearly all of nil or empty values) and made the object a few hundred bytes larger.
final class ExchangeExtras {
    /// The client's request trailers (HTTP/2, or chunked HTTP/1.1), forwarded with the end.
    var requestTrailers: HTTPHeaders?
    var setCookie: String?
    /// The endpoints of earlier attempts, which a retry avoids.
    var previousEndpoints: [Int] = []
    var staleRetryUsed = false
    var lastResetReason = ""
    /// Shadow copies of this request (the route's `mirror`/`mirrors`), if any were started.
    var mirror: RequestMirror?
    var waitingPool: EndpointPool?
    /// `grpc-status` of the answer to a gRPC request (trailers, or a trailers-only head).
    var grpcStatus: String?
    /// Set for a request with an `Origin` on a route with a `corsPolicy` (`Exchange+CORS`).
    var cors: CORSState?
    var routeTimer: Scheduled<Void>?
    var perTryTimer: Scheduled<Void>?
    var waitTimer: Scheduled<Void>?
    /// The upstream path of a request whose route rewrites it (`Exchange.rewritePath`).
    var rewrittenPath: String?
}

/// The extras as properties of the exchange: reading one that was never set costs no allocation,
/// and setting one to nil when none was set is nothing.
extension Exchange {
    var extras: ExchangeExtras {
        if let extras = extrasStorage { return extras }
        let extras = ExchangeExtras()
        extrasStorage = extras
        return extras
    }

    var requestTrailers: HTTPHeaders? {
        get { extrasStorage?.requestTrailers }
        set { if newValue != nil || extrasStorage != nil { extras.requestTrailers = newValue } }
    }

    var setCookie: String? {
        get { extrasStorage?.setCookie }
        set { if newValue != nil || extrasStorage != nil { extras.setCookie = newValue } }
    }

    var previousEndpoints: [Int] {
        get { extrasStorage?.previousEndpoints ?? [] }
        _modify { yield &extras.previousEndpoints }
    }

    var staleRetryUsed: Bool {
        get { extrasStorage?.staleRetryUsed ?? false }
        set { if newValue || extrasStorage != nil { extras.staleRetryUsed = newValue } }
    }

    var lastResetReason: String {
        get { extrasStorage?.lastResetReason ?? "" }
        set { if !newValue.isEmpty || extrasStorage != nil { extras.lastResetReason = newValue } }
    }

    var mirror: RequestMirror? {
        get { extrasStorage?.mirror }
        set { if newValue != nil || extrasStorage != nil { extras.mirror = newValue } }
    }

    var waitingPool: EndpointPool? {
        get { extrasStorage?.waitingPool }
        set { if newValue != nil || extrasStorage != nil { extras.waitingPool = newValue } }
    }

    var grpcStatus: String? {
        get { extrasStorage?.grpcStatus }
        set { if newValue != nil || extrasStorage != nil { extras.grpcStatus = newValue } }
    }

    var cors: CORSState? {
        get { extrasStorage?.cors }
        set { if newValue != nil || extrasStorage != nil { extras.cors = newValue } }
    }

    var routeTimer: Scheduled<Void>? {
        get { extrasStorage?.routeTimer }
        set { if newValue != nil || extrasStorage != nil { extras.routeTimer = newValue } }
    }

    var perTryTimer: Scheduled<Void>? {
        get { extrasStorage?.perTryTimer }
        set { if newValue != nil || extrasStorage != nil { extras.perTryTimer = newValue } }
    }

    var waitTimer: Scheduled<Void>? {
        get { extrasStorage?.waitTimer }
        set { if newValue != nil || extrasStorage != nil { extras.waitTimer = newValue } }
    }

    var rewrittenPath: String? {
        get { extrasStorage?.rewrittenPath }
        set { if newValue != nil || extrasStorage != nil { extras.rewrittenPath = newValue } }
    }
}
