/// Everything a run needs; build one in code (the `demo` command) or from `meshsim load`'s options.
public struct LoadConfiguration: Sendable {
    /// How requests are paced.
    public enum Pacing: Sendable, Hashable {
        /// `concurrency` requests in flight at all times, each sent as soon as the previous answer
        /// on its connection arrives: measures the most the target can do.
        case closedLoop(concurrency: Int)
        /// A constant rate, whatever the target does. Each request has an intended send time
        /// (start + i/rate) and its latency is measured from that time, so a stall in the target
        /// shows up in the latency of every request that should have been sent during it
        /// (no coordinated omission, as wrk2 and fortio -qps).
        case openLoop(requestsPerSecond: Double)
    }

    public enum HTTPVersion: Sendable, Hashable {
        case http1_1
        /// h2c with prior knowledge: `streamsPerConnection` requests in flight on each connection.
        case http2
    }

    public var target: TargetURL
    public var pacing: Pacing
    /// Length of the measured phase (after warmup). With `requestLimit` too, whichever ends first.
    public var duration: Duration?
    /// Number of measured requests (after warmup).
    public var requestLimit: Int?
    /// TCP connections; a closed loop of concurrency C uses C of them (HTTP/1.1 carries one
    /// request at a time per connection).
    public var connections: Int
    /// Event-loop threads of the generator.
    public var threads: Int
    /// Requests sent during warmup are answered but not counted.
    public var warmup: Duration
    /// Per request, from its send; a request past it counts as a timeout and its connection is
    /// replaced. The run ends at most this long after its send window closes.
    public var requestTimeout: Duration
    /// The request classes, dealt by weight (one class "default" without a mix file).
    public var classes: [RequestClass]
    /// Headers sent on every request (a class's own headers override them by name).
    public var commonHeaders: [HeaderField]
    /// Host header / :authority when no class sets its own; nil = the URL's.
    public var authority: String?
    /// The response header naming the destination: its value's text after `|` is the subset
    /// ("reviews.default.svc.cluster.local|v2" → "v2"); a value without `|` is taken whole.
    public var subsetHeader: String
    /// Expectation for classes that have none of their own (`--expect`).
    public var expected: ExpectedShares?
    /// Significance level of the chi-square test (a p-value below it fails).
    public var alpha: Double
    /// Demand exact counts (the proxy's exact split mode) where a class's answers fill whole windows.
    public var exact: Bool
    public var httpVersion: HTTPVersion
    /// gRPC calls (HTTP/2 only): POSTs with `content-type: application/grpc`, the body one
    /// length-prefixed message, each answer counted by its `grpc-status` (`GRPCOutcome`).
    public var grpc: Bool
    /// HTTP/2: concurrent streams per connection (h2load's `-m`).
    public var streamsPerConnection: Int
    /// How often an `IntervalReport` is produced.
    public var reportInterval: Duration

    public init(
        target: TargetURL, pacing: Pacing = .closedLoop(concurrency: 10), duration: Duration? = .seconds(10),
        requestLimit: Int? = nil, connections: Int? = nil, threads: Int = 2, warmup: Duration = .zero,
        requestTimeout: Duration = .seconds(5), classes: [RequestClass]? = nil, commonHeaders: [HeaderField] = [],
        authority: String? = nil, subsetHeader: String = "x-meshsim-destination", expected: ExpectedShares? = nil,
        alpha: Double = 0.01, exact: Bool = false, httpVersion: HTTPVersion = .http1_1, reportInterval: Duration = .seconds(1),
        streamsPerConnection: Int = 10, grpc: Bool = false
    ) {
        self.grpc = grpc
        self.target = target
        self.pacing = pacing
        self.duration = duration
        self.requestLimit = requestLimit
        let streams = httpVersion == .http2 ? max(1, streamsPerConnection) : 1
        if let connections {
            self.connections = connections
        } else if case .closedLoop(let concurrency) = pacing {
            self.connections = (concurrency + streams - 1) / streams
        } else {
            self.connections = 10
        }
        self.threads = threads
        self.warmup = warmup
        self.requestTimeout = requestTimeout
        self.classes = classes ?? [RequestClass(path: target.pathAndQuery)]
        self.commonHeaders = commonHeaders
        self.authority = authority
        self.subsetHeader = subsetHeader
        self.expected = expected
        self.alpha = alpha
        self.exact = exact
        self.httpVersion = httpVersion
        self.reportInterval = reportInterval
        self.streamsPerConnection = streamsPerConnection
    }

    /// Connections actually opened.
    public var activeConnections: Int {
        let streams = httpVersion == .http2 ? streamsPerConnection : 1
        switch pacing {
        case .closedLoop(let concurrency): return min(connections, (concurrency + streams - 1) / streams)
        case .openLoop: return connections
        }
    }

    /// Requests that may be in flight at once: one per HTTP/1.1 connection, `streamsPerConnection`
    /// per HTTP/2 connection (each is a lane of the engine).
    var activeLanes: Int {
        switch (pacing, httpVersion) {
        case (.closedLoop(let concurrency), .http1_1): return min(concurrency, connections)
        case (.closedLoop(let concurrency), .http2): return min(concurrency, connections * streamsPerConnection)
        case (.openLoop, .http1_1): return connections
        case (.openLoop, .http2): return connections * streamsPerConnection
        }
    }

    /// The authority a class's requests carry.
    public func authority(for requestClass: RequestClass) -> String {
        requestClass.hostHeader ?? commonHeaders.last { $0.name.lowercased() == "host" }?.value ?? authority ?? target.authority
    }

    /// Rejects combinations that cannot run, with a one-line reason.
    public func validate() throws {
        if grpc && httpVersion != .http2 { throw LoadInputError("--grpc needs HTTP/2 (--http2)") }
        if httpVersion == .http2 {
            guard streamsPerConnection >= 1, streamsPerConnection <= 1000 else {
                throw LoadInputError("--streams must be between 1 and 1000")
            }
        }
        switch pacing {
        case .closedLoop(let concurrency):
            guard concurrency >= 1 else { throw LoadInputError("--concurrency must be at least 1") }
            if httpVersion == .http2 {
                guard concurrency <= connections * streamsPerConnection else {
                    throw LoadInputError("--concurrency \(concurrency) exceeds --connections \(connections) × --streams \(streamsPerConnection)")
                }
            } else if concurrency > connections {
                throw LoadInputError("--concurrency \(concurrency) exceeds --connections \(connections): HTTP/1.1 carries one request at a time per connection")
            }
        case .openLoop(let rate):
            guard rate.isFinite, rate > 0 else { throw LoadInputError("--rps must be a positive number") }
            guard rate <= 10_000_000 else { throw LoadInputError("--rps \(rate) is beyond what one machine can send") }
        }
        guard connections >= 1, connections <= 100_000 else { throw LoadInputError("--connections must be between 1 and 100000") }
        guard threads >= 1, threads <= 256 else { throw LoadInputError("--threads must be between 1 and 256") }
        guard duration != nil || requestLimit != nil else { throw LoadInputError("give --duration or --requests (or both)") }
        if let duration {
            guard duration > .zero, duration <= .seconds(366 * 86400) else { throw LoadInputError("--duration must be positive and at most a year") }
        }
        if let requestLimit { guard requestLimit >= 1 else { throw LoadInputError("--requests must be at least 1") } }
        guard warmup >= .zero, warmup <= .seconds(86400) else { throw LoadInputError("--warmup must be between 0 and a day") }
        guard requestTimeout > .zero, requestTimeout <= .seconds(3600) else { throw LoadInputError("--timeout must be positive and at most an hour") }
        guard reportInterval >= .milliseconds(10), reportInterval <= .seconds(3600) else {
            throw LoadInputError("the report interval must be between 10ms and an hour")
        }
        guard alpha > 0, alpha < 1 else { throw LoadInputError("alpha must be between 0 and 1") }
        guard !subsetHeader.isEmpty, subsetHeader.utf8.allSatisfy(HeaderField.isTokenByte) else {
            throw LoadInputError("invalid subset header name \"\(subsetHeader)\"")
        }
        guard !classes.isEmpty else { throw LoadInputError("no request classes") }
        var names = Set<String>()
        for requestClass in classes {
            try requestClass.validate()
            guard names.insert(requestClass.name).inserted else { throw LoadInputError("request class \"\(requestClass.name)\" is given twice") }
        }
        for header in commonHeaders { try header.validate() }
        if exact && warmup > .zero {
            throw LoadInputError("--exact cannot be combined with --warmup: warmup requests shift the proxy's round-robin windows")
        }
    }
}
