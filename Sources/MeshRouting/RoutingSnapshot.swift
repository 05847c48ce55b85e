import MeshConfig

/// The compiled, immutable routing table. Built once per config revision, shared by all
/// event loops (it is Sendable), never mutated.
public final class RoutingSnapshot: Sendable {
    public let revision: Int
    public let registry: ServiceRegistry
    public let options: RoutingOptions
    /// Every cluster any route can reach (and each service's default cluster), in build order.
    public let clusters: [Cluster]
    /// Warnings and notes found while compiling (a VirtualService shadowed by an older one for
    /// the same host, one bound to gateways only, …). Errors throw instead.
    public let diagnostics: [ConfigDiagnostic]
    /// The VirtualServices the sidecar uses, with their rules, for coverage reports.
    public let virtualServices: [VirtualServiceInfo]

    let clusterIndex: [String: Cluster]
    let tables: [RouteTable]
    /// Exact virtual host domains (lower-cased, with and without `:port`) to a table.
    let domains: [String: Int]
    /// The same, for lookups on the hot path.
    let domainIndex: DomainIndex
    /// Domains matched on the host part: names on any port, then wildcards, most specific first.
    let patternDomains: [PatternDomain]
    let epoch: PickerEpoch
    /// Declared hosts not exported to the client's namespace (lower-cased), for explanations.
    let hiddenHosts: Set<String>

    /// Compiles resources. `addresses` maps a workload key ("namespace/name", e.g.
    /// "default/reviews-v1-0") to where it listens; workloads with a real address
    /// (ServiceEntry/WorkloadEntry) use theirs. Throws `RoutingCompileError` (carrying
    /// [ConfigDiagnostic] with file:line) for anything that cannot be compiled.
    public convenience init(resources: MeshResources, revision: Int = 0, addresses: [String: EndpointAddress] = [:]) throws {
        try self.init(resources: resources, revision: revision, addresses: addresses, options: RoutingOptions())
    }

    /// As above, with the simulated client's namespace and labels.
    public init(resources: MeshResources, revision: Int = 0, addresses: [String: EndpointAddress] = [:], options: RoutingOptions) throws {
        var compiler = SnapshotCompiler(resources: resources, options: options, addresses: addresses)
        compiler.compile()
        if !compiler.errors.isEmpty { throw RoutingCompileError(diagnostics: compiler.errors) }
        self.revision = revision
        self.registry = compiler.registry
        self.options = options
        self.clusters = compiler.clusterOrder
        self.clusterIndex = compiler.clusters
        self.diagnostics = compiler.notes
        self.virtualServices = compiler.virtualServiceInfos
        self.tables = compiler.tables
        self.domains = compiler.domains
        self.domainIndex = DomainIndex(compiler.domains)
        self.patternDomains = compiler.patterns.sorted(by: PatternDomain.precedes)
        self.epoch = PickerEpoch(slotCount: compiler.slotCount)
        self.hiddenHosts = compiler.hiddenHosts
    }

    public func cluster(named name: String) -> Cluster? { clusterIndex[name] }

    /// The hot path: no allocation per call beyond what the answer needs (a redirect's
    /// location); picks with the caller's per-event-loop picker state.
    public func route(_ request: some RequestAttributes, picker: inout DestinationPicker) -> RouteDecision {
        var found: Int? = nil
        request.withAuthorityUTF8 { found = table(forAuthority: $0) }
        guard let tableIndex = found else { return .noRoute }
        return route(request, table: tableIndex, picker: &picker)
    }

    /// The same for a caller that has the request's authority bytes at hand (`authorityUTF8`:
    /// exactly what `request.withAuthorityUTF8` would lend): the virtual host is found without
    /// a call through the request's conformance and a closure for it.
    public func route(_ request: some RequestAttributes, authorityUTF8: UnsafeBufferPointer<UInt8>, picker: inout DestinationPicker) -> RouteDecision {
        guard let tableIndex = table(forAuthority: authorityUTF8) else { return .noRoute }
        return route(request, table: tableIndex, picker: &picker)
    }

    /// Routes `request` with table `tableIndex`, its virtual host's.
    @inline(__always)
    private func route(_ request: some RequestAttributes, table tableIndex: Int, picker: inout DestinationPicker) -> RouteDecision {
        // Lent: `tables`, a constant of this snapshot, holds the table through the call.
        return Unmanaged.passUnretained(tables[tableIndex])._withUnsafeGuaranteedRef { table in
            // What `firstMatch` would find without reading the path and headers for it.
            if table.program.firstRuleTakesEveryRequest, let forward = table.decisions.forward(rule: 0, picker: &picker, epoch: epoch) {
                return .forward(forward)
            }
            return withView(of: request, for: table) { view -> RouteDecision in
                guard let match = table.program.firstMatch(view) else { return .noRoute }
                if let forward = table.decisions.forward(rule: match.rule, picker: &picker, epoch: epoch) { return .forward(forward) }
                // Not a forwarding rule: a redirect or a direct response.
                return table.rules[match.rule].localResponse(for: request, block: match.block) ?? .noRoute
            }
        }
    }

    /// Reads what `table` matches on from the request, once: the path bytes (split from the
    /// query) and each header the table names, into a stack buffer. No string is made for a
    /// request whose conformance lends its bytes (the proxy's does).
    @inline(__always)
    func withView<R>(of request: some RequestAttributes, for table: RouteTable, _ body: (RequestView) -> R) -> R {
        var result: R? = nil
        request.withPathUTF8 { bytes in
            let (path, query) = RoutingSnapshot.split(bytes)
            result = withBytes(if: table.readsMethod, request.method) { method -> R in
                withBytes(if: table.readsAuthority, request.authority) { authority -> R in
                    withBytes(if: table.readsScheme, request.scheme) { scheme -> R in
                        withView(of: request, for: table, method: method, authority: authority, scheme: scheme, path: path, query: query, body)
                    }
                }
            }
        }
        // `withPathUTF8` calls its body exactly once. Taken: `result!` copied the value out.
        return result.take()!
    }

    /// The bytes of `value` when `read`, else an empty view (no string is made).
    @inline(__always)
    private func withBytes<R>(if read: Bool, _ value: @autoclosure () -> String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        guard read else { return body(UnsafeBufferPointer(start: nil, count: 0)) }
        return MeshRouting.withUTF8Bytes(value(), body)
    }

    @inline(__always)
    private func withView<R>(
        of request: some RequestAttributes, for table: RouteTable, method: UnsafeBufferPointer<UInt8>, authority: UnsafeBufferPointer<UInt8>,
        scheme: UnsafeBufferPointer<UInt8>, path: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>, _ body: (RequestView) -> R
    ) -> R {
        let names = table.headerNames
        let sources = table.headerSources
        // Two passes over the headers the table reads: their lengths, to size the stack buffer,
        // then their bytes into it (each value is lent only for the call that reads it).
        var total = 0
        for i in 0..<names.count {
            sources[i].withValue(of: request, name: names[i]) { total += $0?.count ?? 0 }
        }
        return withUnsafeTemporaryAllocation(of: RequestView.HeaderSpan.self, capacity: names.count) { spans -> R in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: total) { bytes -> R in
                var offset = 0
                for i in 0..<names.count {
                    var span = RequestView.HeaderSpan(offset: 0, length: -1)
                    sources[i].withValue(of: request, name: names[i]) { value in
                        guard let value else { return }
                        // The request is the same in both passes; never write past the buffer all the same.
                        let length = min(value.count, total - offset)
                        for j in 0..<length { bytes[offset + j] = value[j] }
                        span = RequestView.HeaderSpan(offset: Int32(offset), length: Int32(length))
                        offset += length
                    }
                    spans.initializeElement(at: i, to: span)
                }
                let view = RequestView(
                    method: method, authority: authority, scheme: scheme, path: path, query: query,
                    headerBytes: UnsafeBufferPointer(bytes), headerSpans: UnsafeBufferPointer(spans))
                return body(view)
            }
        }
    }

    /// The path (without query or fragment) and the query (without `?`), as views of `bytes`.
    @inline(__always)
    static func split(_ bytes: UnsafeBufferPointer<UInt8>) -> (path: UnsafeBufferPointer<UInt8>, query: UnsafeBufferPointer<UInt8>) {
        var i = 0
        while i < bytes.count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "?") {
                var end = i + 1
                while end < bytes.count && bytes[end] != UInt8(ascii: "#") { end += 1 }
                return (bytes.slice(0..<i), bytes.slice((i + 1)..<end))
            }
            if byte == UInt8(ascii: "#") { break }
            i += 1
        }
        return (bytes.slice(0..<i), UnsafeBufferPointer(start: nil, count: 0))
    }

    /// The virtual host for an authority, as Envoy picks it: an exact domain (case-insensitive),
    /// else the most specific pattern.
    @inline(__always)
    func table(forAuthority authority: String) -> Int? {
        withUTF8Bytes(authority) { table(forAuthority: $0) }
    }

    @inline(__always)
    func table(forAuthority bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        if let index = domainIndex.table(for: bytes) { return index }
        if patternDomains.isEmpty { return nil }
        let (host, port) = RoutingSnapshot.splitAuthority(bytes)
        for domain in patternDomains where domain.covers(host: host, port: port) { return domain.table }
        return nil
    }

    /// Host bytes and port of an authority (`host`, `host:port`, `[v6]:port`).
    @inline(__always)
    static func splitAuthority(_ bytes: UnsafeBufferPointer<UInt8>) -> (UnsafeBufferPointer<UInt8>, Int?) {
        var colon: Int? = nil
        var i = bytes.count - 1
        while i >= 0 {
            let byte = bytes[i]
            if byte == UInt8(ascii: ":") { colon = i; break }
            if byte == UInt8(ascii: "]") || !(byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) { break }
            i -= 1
        }
        guard let colon, colon + 1 < bytes.count else { return (bytes, nil) }
        var port = 0
        for j in (colon + 1)..<bytes.count {
            port = port &* 10 &+ Int(bytes[j] &- UInt8(ascii: "0"))
            if port > 65535 { return (bytes, nil) }
        }
        return (bytes.slice(0..<colon), port)
    }
}

/// A VirtualService in use by the snapshot, with its HTTP rules, for coverage reports.
public struct VirtualServiceInfo: Sendable, Hashable {
    public struct Rule: Sendable, Hashable {
        public let index: Int
        public let name: String?
        public let line: Int
        public var ref: RouteRef
    }
    /// `namespace/name`.
    public let name: String
    public let hosts: [String]
    public let file: String
    public let line: Int
    public let rules: [Rule]
}
