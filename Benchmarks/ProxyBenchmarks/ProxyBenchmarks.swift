import Benchmark
import MeshHTTP2
import MeshProxy
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// End to end through the proxy (client → LocalMesh's proxy, one worker → simulated pods), each
// with a direct-to-pod baseline run by the same client, so the proxy's share is the difference;
// then the HTTP/2 codec alone. Each iteration sends 1000 requests (scalingFactor .kilo), so the
// figures are per request. Every mesh is started by its benchmark's setup and stopped by its
// teardown; everything binds 127.0.0.1 port 0.
//
// cpuTotal, "CPU, whole process" and mallocCountTotal are the whole process's: client, proxy and
// pods together (the HTTP/1.1 client is written to allocate nothing per request; the HTTP/2
// client is MeshHTTP2's, so its work is in the direct baseline too).

/// The request every HTTP/1.1 benchmark sends: no `x-user-group`, so the proxy tries the header
/// rule, falls through to the 95/5 split, and forwards.
let http1Request =
    "GET \(BenchmarkMesh.path) HTTP/1.1\r\nhost: \(BenchmarkMesh.host)\r\nuser-agent: meshsim-benchmarks/1\r\naccept: */*\r\n\r\n"

let http2Request = HTTP2RequestHead(
    method: "GET", scheme: "http", authority: BenchmarkMesh.host, path: BenchmarkMesh.path,
    headers: ["user-agent": "meshsim-benchmarks/1", "accept": "*/*"])

/// Closed loop: one request in flight on each of these keep-alive connections.
let http1Connections = 4
/// h2c: streams kept in flight on each connection.
let http2Connections = 2
let http2StreamsPerConnection = 8

enum Target {
    /// Through LocalMesh's proxy.
    case proxy
    /// Straight to the v1 pod, which serves 95% of the proxied requests.
    case directToPod

    func address(of mesh: LocalMesh) throws -> (host: String, port: Int) {
        switch self {
        case .proxy: return ("127.0.0.1", mesh.port)
        case .directToPod:
            let pod = try BenchmarkMesh.podAddress(mesh, subset: "v1")
            return (pod.host, pod.port)
        }
    }
}

struct HTTP1Fixture: Sendable {
    let mesh: LocalMesh
    let connections: KeepAliveConnections

    static func start(_ target: Target) async throws -> HTTP1Fixture {
        let mesh = try await BenchmarkMesh.start(servicePortName: "http")
        do {
            let address = try target.address(of: mesh)
            let connections = try KeepAliveConnections.open(host: address.host, port: address.port, count: http1Connections)
            return HTTP1Fixture(mesh: mesh, connections: connections)
        } catch {
            try? await mesh.stop()
            throw error
        }
    }

    func stop() async throws {
        connections.closeAll()
        try await mesh.stop()
    }
}

struct HTTP2Fixture: Sendable {
    let mesh: LocalMesh
    /// The client's own event loop, apart from the proxy's and the pods'.
    let clientGroup: MultiThreadedEventLoopGroup
    let driver: NIOLoopBound<H2LoadDriver>

    static func start(_ target: Target) async throws -> HTTP2Fixture {
        // A Service port named http2-* makes the pods h2c and the proxy's upstream HTTP/2.
        let mesh = try await BenchmarkMesh.start(servicePortName: "http2-web")
        let clientGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let address = try target.address(of: mesh)
            let driver = try await H2LoadDriver.connect(
                host: address.host, port: address.port, connectionCount: http2Connections,
                streamsPerConnection: http2StreamsPerConnection, head: http2Request, eventLoop: clientGroup.next())
            return HTTP2Fixture(mesh: mesh, clientGroup: clientGroup, driver: driver)
        } catch {
            try? await clientGroup.shutdownGracefully()
            try? await mesh.stop()
            throw error
        }
    }

    func run(requests: Int) async throws -> H2LoadDriver.Outcome {
        let driver = self.driver
        return try await driver.eventLoop.flatSubmit { driver.value.run(requests: requests) }.get()
    }

    func stop() async throws {
        let driver = self.driver
        try await driver.eventLoop.submit { driver.value.close() }.get()
        try await clientGroup.shutdownGracefully()
        try await mesh.stop()
    }
}

struct UnexpectedStatus: Error, CustomStringConvertible {
    var non200: Int
    var total: Int
    var description: String { "\(non200) of \(total) responses were not 200" }
}

/// The whole process's CPU time (all threads: client, proxy, pods) to the nanosecond, read by
/// `measure`. package-benchmark's `cpuTotal` reads /proc/self/stat in scheduler ticks (10 ms),
/// which at 1000 requests per iteration is steps of 10 µs per request.
let processCPU = BenchmarkMetric.custom("CPU, whole process (ns)", polarity: .prefersSmaller, useScalingFactor: true)

func processCPUNanoseconds() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}

/// Runs `work` as the measured part of the iteration and records `processCPU` for it.
func measure<Value>(_ benchmark: Benchmark, _ work: () throws -> Value) rethrows -> Value {
    benchmark.startMeasurement()
    let cpuBefore = processCPUNanoseconds()
    let value = try work()
    let cpuUsed = processCPUNanoseconds() - cpuBefore
    benchmark.stopMeasurement()
    benchmark.measurement(processCPU, cpuUsed)
    return value
}

func measure<Value>(_ benchmark: Benchmark, _ work: () async throws -> Value) async rethrows -> Value {
    benchmark.startMeasurement()
    let cpuBefore = processCPUNanoseconds()
    let value = try await work()
    let cpuUsed = processCPUNanoseconds() - cpuBefore
    benchmark.stopMeasurement()
    benchmark.measurement(processCPU, cpuUsed)
    return value
}

func registerHTTP1(_ name: String, _ target: Target, configuration: Benchmark.Configuration) {
    let fixture = FixtureSlot<HTTP1Fixture>()
    Benchmark(
        name, configuration: configuration,
        closure: { benchmark in
            let driver = KeepAliveDriver(connections: try fixture.current().connections, request: http1Request)
            let count = benchmark.scaledIterations.count
            let outcome = try measure(benchmark) { try driver.run(requests: count) }
            if outcome.non200 > 0 { throw UnexpectedStatus(non200: outcome.non200, total: outcome.responses) }
        },
        setup: { fixture.store(try await HTTP1Fixture.start(target)) },
        teardown: { try await fixture.take()?.stop() })
}

func registerHTTP2(_ name: String, _ target: Target, configuration: Benchmark.Configuration) {
    let fixture = FixtureSlot<HTTP2Fixture>()
    Benchmark(
        name, configuration: configuration,
        closure: { benchmark in
            let running = try fixture.current()
            let count = benchmark.scaledIterations.count
            let outcome = try await measure(benchmark) { try await running.run(requests: count) }
            if outcome.non200 > 0 { throw UnexpectedStatus(non200: outcome.non200, total: outcome.responses) }
        },
        setup: { fixture.store(try await HTTP2Fixture.start(target)) },
        teardown: { try await fixture.take()?.stop() })
}

func registerCodecRoundTrip(_ name: String, configuration: Benchmark.Configuration) {
    Benchmark(name, configuration: configuration) { benchmark in
        let roundTrip = try CodecRoundTrip(head: http2Request)
        defer { try? roundTrip.close() }
        // One request before measuring, so that the connection's one-time work (SETTINGS acks,
        // the first HPACK entries) is not in the figure.
        try roundTrip.run(requests: 1)
        let count = benchmark.scaledIterations.count
        try measure(benchmark) { try roundTrip.run(requests: count) }
    }
}

let benchmarks: @Sendable () -> Void = {
    let timing = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .cpuTotal, processCPU, .mallocCountTotal],
        timeUnits: .nanoseconds,
        // Nanoseconds as they are, not in thousands.
        units: [processCPU: .count],
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(5),
        maxIterations: 500
    )
    // No retainCount/releaseCount: on Linux with Swift 6.3, package-benchmark counts them only
    // through ordo-one/swift-runtime-interposer (its RuntimeInterposer trait), which the package
    // mirror does not have; the runtime-hook fallback crashes in swift_retain (benchmark issue #349).
    registerHTTP1("proxy/http1 keep-alive", .proxy, configuration: timing)
    registerHTTP1("direct to pod/http1 keep-alive", .directToPod, configuration: timing)
    registerHTTP2("proxy/http2 h2c", .proxy, configuration: timing)
    registerHTTP2("direct to pod/http2 h2c", .directToPod, configuration: timing)
    registerCodecRoundTrip("codec/http2 round trip (EmbeddedChannel)", configuration: timing)
}
