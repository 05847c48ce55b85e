import ArgumentParser
import Foundation
import MeshBackends
import NIOPosix

/// `meshsim backend`: one simulated pod on a fixed address, for a ServiceEntry or WorkloadEntry
/// to point at, or for a benchmark to use as an upstream.
struct Backend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Run one simulated backend until SIGINT or SIGTERM.",
        discussion: """
            Every answer carries x-meshsim-workload, x-meshsim-version and x-meshsim-pod. Paths: /echo answers \
            a JSON description of the request; /status/NNN answers status NNN; anything else a short text naming \
            the pod. A WebSocket upgrade on any path is answered 101 and echoes its frames. Behaviour flags take the values of the meshsim.dev/* pod annotations.
            """)

    @Option(help: "host:port to listen on; port 0 picks a free port.")
    var listen: String = "127.0.0.1:8080"

    @Option(help: "The workload name the answers carry.")
    var name: String

    @Option(help: "The version label the answers carry.")
    var version: String = "v1"

    @Option(help: "The pod name the answers carry (default: NAME-0).")
    var pod: String?

    @Option(help: "The namespace the answers carry.")
    var namespace: String = "default"

    @Option(help: "A fixed latency (5ms) or two quantiles (p50=5ms,p99=40ms).")
    var latency: String?

    @Option(help: "The share of requests answered with --error-code: 2% or 0.02.")
    var errorRate: String?

    @Option(help: "The status of injected errors (default 503).")
    var errorCode: String?

    @Option(help: "Requests in flight beyond which the backend answers 503 at once.")
    var maxConcurrency: String?

    @Option(help: "The size of the default response body (512, 4KiB, 1MB).")
    var bodyBytes: String?

    @Option(help: "Seed of the error and latency draws; the same seed repeats a run.")
    var seed: UInt64 = 1

    @Option(help: "Event loop threads.")
    var threads: Int = 1

    @Flag(help: "Also answer h2c (HTTP/2 with prior knowledge) on the same port, gRPC requests the gRPC way.")
    var h2c = false

    func validate() throws {
        _ = try listenAddress()
        _ = try profile()
        for (flag, value) in [("--name", name), ("--version", version), ("--pod", pod ?? name), ("--namespace", namespace)] {
            guard !value.isEmpty, value.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw ValidationError("\(flag): \"\(value)\" must be printable ASCII without spaces")
            }
        }
        try requireOption("--threads", threads, in: 1...256)
    }

    func run() async throws {
        let (host, port) = try listenAddress()
        let identity = BackendIdentity(workload: name, version: version, pod: pod ?? "\(name)-0", namespace: namespace)
        let behavior = try profile()
        let signals = TerminationSignal()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let backend: SimulatedBackend
        do {
            backend = try await SimulatedBackend.start(identity: identity, profile: behavior, host: host, port: port, group: group, seed: seed, servesHTTP2: h2c)
        } catch {
            try? await group.shutdownGracefully()
            throw BackendCommandError("cannot listen on \(host):\(port): \(error)")
        }
        let shown = host.contains(":") ? "[\(host)]" : host
        writeStdout("meshsim backend \(identity.pod) (workload \(identity.workload), version \(identity.version)) listening on http://\(shown):\(backend.port)\(h2c ? " (HTTP/1.1 and h2c)" : "") [\(behavior)]\n")

        let signal = await signals.wait()
        try await backend.shutdown()
        let stats = backend.stats
        try await group.shutdownGracefully()
        writeStdout("meshsim backend stopped on signal \(signal): \(stats.requestsServed) requests served, \(stats.errorsInjected) errors injected, \(stats.rejectedOverConcurrency) rejected over max-concurrency\n")
    }

    func listenAddress() throws -> (String, Int) {
        try HostPort.parse(listen, option: "--listen")
    }

    /// The flags read as the annotations they stand for, so both accept the same values.
    func profile() throws -> BehaviorProfile {
        let flags: [(String, String, String?)] = [
            ("--latency", BehaviorProfile.latencyAnnotation, latency),
            ("--error-rate", BehaviorProfile.errorRateAnnotation, errorRate),
            ("--error-code", BehaviorProfile.errorCodeAnnotation, errorCode),
            ("--max-concurrency", BehaviorProfile.maxConcurrencyAnnotation, maxConcurrency),
            ("--body-bytes", BehaviorProfile.bodyBytesAnnotation, bodyBytes),
        ]
        var annotations: [String: String] = [:]
        for (_, annotation, value) in flags { annotations[annotation] = value }
        do {
            return try BehaviorProfile(annotations: annotations)
        } catch let error as BehaviorProfileError {
            let flag = flags.first { $0.1 == error.annotation }?.0 ?? error.annotation
            throw ValidationError("\(flag): invalid value \"\(error.value)\": \(error.reason)")
        }
    }

    private func writeStdout(_ text: String) {
        // Unbuffered, so that a script reading the pipe sees the address at once.
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

struct BackendCommandError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Catches SIGINT and SIGTERM (instead of dying on them) from the moment it is made, so the
/// command can shut down cleanly whenever the signal comes.
final class TerminationSignal: @unchecked Sendable {
    // The state below is touched only on `queue`.
    private let queue = DispatchQueue(label: "meshsim.signals")
    private var sources: [any DispatchSourceSignal] = []
    private var received: Int32?
    private var continuation: CheckedContinuation<Int32, Never>?

    init() {
        queue.sync {
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
                source.setEventHandler { [self] in fire(signalNumber) }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// The first signal caught (at once if it already came).
    func wait() async -> Int32 {
        await withCheckedContinuation { continuation in
            queue.async { [self] in
                if let received {
                    continuation.resume(returning: received)
                } else {
                    self.continuation = continuation
                }
            }
        }
    }

    private func fire(_ signalNumber: Int32) {
        guard received == nil else { return }
        received = signalNumber
        continuation?.resume(returning: signalNumber)
        continuation = nil
    }
}
