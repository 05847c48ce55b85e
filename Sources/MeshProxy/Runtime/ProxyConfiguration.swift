import MeshHTTP2
import MeshRouting
import NIOCore

/// How a `MeshProxy` listens and behaves. Every field has the default `meshsim serve` uses.
public struct ProxyConfiguration: Sendable {
    /// How weighted destinations are picked on each event loop.
    public enum SplitMode: Sendable, Hashable {
        /// Envoy's `random % total`, from a generator seeded per event loop (`seed + loop index`),
        /// so a run with the same seed, worker count and request order repeats.
        case random(seed: UInt64)
        /// Smooth weighted round robin per event loop: every `sum(weights)` requests that one
        /// loop routes hold each destination's share exactly. With several workers, the split is
        /// exact per loop; use `workers: 1` when a test counts exact totals.
        case exact
    }

    /// Where the access log goes (Envoy's default text format, one line per request).
    public enum AccessLogDestination: Sendable, Hashable {
        case standardOutput
        case file(String)
    }

    public var host: String = "127.0.0.1"
    /// 0 picks a free port; read it back from `MeshProxy.port`.
    public var port: Int = 15001
    /// Event loops (Envoy's worker threads); each has its own snapshot, pools and stats.
    public var workers: Int = System.coreCount
    public var split: SplitMode = .random(seed: 0)
    /// Adds `x-meshsim-route` and `x-meshsim-destination` to every response.
    public var debugHeaders: Bool = true
    /// Whether HTTP/1.0 requests are served. Istio's sidecar does not accept them unless
    /// `PILOT_HTTP10` (or the proxy's `ISTIO_META_HTTP10` metadata) turns on Envoy's
    /// `accept_http_10`: Envoy answers 426 Upgrade Required and closes the connection.
    public var acceptHTTP10: Bool = false
    /// Envoy's `use_remote_address`. Istio's sidecar outbound listener leaves it off unless
    /// `PILOT_SIDECAR_USE_REMOTE_ADDRESS` is set: the client's `x-forwarded-for` then passes
    /// unchanged (none is added). On, the peer's address is appended to it, which makes a
    /// request without one internal (`InternalRequest`), so its `x-envoy-*` headers are believed.
    public var useRemoteAddress: Bool = false
    public var accessLog: AccessLogDestination? = nil
    public var limits = Limits()
    /// The HTTP/2 codec's limits for downstream connections (prior knowledge and `Upgrade: h2c`).
    /// Its `streamIdleTimeout` is replaced by `limits.streamIdleTimeout`, which covers both
    /// protocols as Envoy's one `stream_idle_timeout` does.
    public var http2 = HTTP2Configuration.default
    /// Receives the data plane's own decisions (outlier ejections and returns), one call each,
    /// on the deciding event loop. nil: not reported.
    public var eventLog: (@Sendable (ProxyEvent) -> Void)? = nil

    public init(
        host: String = "127.0.0.1", port: Int = 15001, workers: Int = System.coreCount,
        split: SplitMode = .random(seed: 0), debugHeaders: Bool = true, accessLog: AccessLogDestination? = nil,
        limits: Limits = Limits()
    ) {
        self.host = host
        self.port = port
        self.workers = workers
        self.split = split
        self.debugHeaders = debugHeaders
        self.accessLog = accessLog
        self.limits = limits
    }

    /// Protection of the listener against bad or slow clients.
    public struct Limits: Sendable, Hashable {
        /// Request line plus headers; beyond it the answer is 431. Envoy's default
        /// `max_request_headers_kb` is 60.
        public var maxRequestHeaderBytes: Int = 60 * 1024
        /// Most header fields in one request (Envoy's default `max_headers_count` is 100).
        public var maxRequestHeaderCount: Int = 100
        /// From a request's first byte to the end of its headers; a slower client is answered 408
        /// and closed.
        public var requestHeaderTimeout: TimeAmount = .seconds(10)
        /// A keep-alive connection with no request in progress is closed after this long.
        public var idleTimeout: TimeAmount = .seconds(300)
        /// A request whose stream moves no bytes either way for this long ends (Envoy's
        /// `stream_idle_timeout`, 5 minutes, which Istio leaves as it is): answered 408 "stream
        /// timeout" if its response had not begun, else cut off; counted with flag SI. Covers
        /// HTTP/1.1 requests and HTTP/2 streams alike; nil: none.
        public var streamIdleTimeout: TimeAmount? = .minutes(5)
        /// Open downstream connections per listener; more are closed at once (Envoy's listener
        /// connection limit).
        public var maxConnections: Int = 10_000
        /// Request bytes kept to replay a retry (and stream to mirrors); a longer body is not
        /// retried nor mirrored. Envoy's router buffers up to the connection's buffer limit,
        /// `per_connection_buffer_limit_bytes`, 1 MiB unless set, and Istio sets none on sidecars.
        public var retryBufferBytes: Int = 1024 * 1024
        /// Connect timeout for upstream connections when the DestinationRule sets none (Istio's 10s).
        public var upstreamConnectTimeout: TimeAmount = .seconds(10)

        public init() {}
    }

    func pickerMode(forLoop index: Int) -> DestinationPicker.Mode {
        switch split {
        case .exact: return .exact
        case .random(let seed): return .random(seed: seed &+ UInt64(index))
        }
    }
}
