import ArgumentParser
import Foundation
import MeshConfig
import MeshProxy
import MeshRouting
import NIOCore

/// `meshsim serve`: the simulated pods of the configuration plus the proxy in front of them,
/// until SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the simulated pods and a proxy that routes to them as Istio's sidecar would.",
        discussion: """
            Send requests with the service as Host (curl -H 'Host: reviews' http://127.0.0.1:15001/) or \
            through the proxy (curl -x http://127.0.0.1:15001 http://reviews/). Each response carries \
            x-meshsim-route and x-meshsim-destination unless --no-debug-headers. With --split exact and \
            --workers 1, every window of sum(weights) requests holds each destination's share exactly; \
            with more workers the split is exact per worker.
            """)

    enum SplitOption: String, ExpressibleByArgument, CaseIterable {
        case random, exact
    }

    @OptionGroup var config: ConfigOptions

    @Option(help: "host:port to listen on; port 0 picks a free port.")
    var listen: String = "127.0.0.1:15001"

    @Option(help: "How weighted destinations are picked: random (Envoy's) or exact (smooth weighted round robin).")
    var split: SplitOption = .random

    @Option(help: "Seed of random picks, faults and simulated pods; the same seed repeats a run (default: from the clock).")
    var seed: UInt64?

    @Option(help: "Event loops (Envoy's worker threads); default one per core.")
    var workers: Int?

    @Flag(help: "Leave out x-meshsim-route and x-meshsim-destination.")
    var noDebugHeaders = false

    @Option(help: "Write Envoy's default access log to PATH, or - for standard output.")
    var accessLog: String?

    func validate() throws {
        if config.files.isEmpty { throw ValidationError("no configuration given: pass -f PATH (a file or directory)") }
        _ = try listenAddress()
        if let workers, !(1...256).contains(workers) { throw ValidationError("--workers: expected 1 to 256, got \(workers)") }
    }

    func run() async throws {
        let (host, port) = try listenAddress()
        let result = config.load()
        if result.hasErrors { throw ExitCode.failure }
        let seed = self.seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
        var proxyConfiguration = ProxyConfiguration(host: host, port: port)
        proxyConfiguration.workers = workers ?? System.coreCount
        proxyConfiguration.split = split == .exact ? .exact : .random(seed: seed)
        proxyConfiguration.debugHeaders = !noDebugHeaders
        if let accessLog { proxyConfiguration.accessLog = accessLog == "-" ? .standardOutput : .file(accessLog) }

        let signals = TerminationSignal()
        let mesh: LocalMesh
        do {
            mesh = try await LocalMesh.start(resources: result.resources, namespace: config.namespace, proxy: proxyConfiguration, seed: seed)
        } catch let error as LocalMesh.ConfigError {
            for diagnostic in error.diagnostics { printError(diagnostic.description) }
            throw ExitCode.failure
        } catch {
            printError("meshsim serve: cannot start: \(error)")
            throw ExitCode.failure
        }
        let snapshot = mesh.snapshot
        for diagnostic in snapshot.diagnostics { printError(diagnostic.description) }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let splitText = split == .exact ? "exact" : "random, seed \(seed)"
        let hosts = snapshot.hosts
        writeStdout("""
            meshsim serve: listening on http://\(shownHost):\(mesh.port) (\(proxyConfiguration.workers) workers, split \(splitText))
            routing \(hosts.count) host\(hosts.count == 1 ? "" : "s") (\(hosts.joined(separator: ", "))), \(snapshot.clusters.count) clusters, \(mesh.fleet.addresses.count) pods

            """)

        let signal = await signals.wait()
        let stats = await mesh.proxy.collectStats()
        try await mesh.stop()
        writeStdout("meshsim serve stopped on signal \(signal): \(stats.totalRequests) requests\n")
    }

    /// `host:port` or `[v6]:port`.
    func listenAddress() throws -> (String, Int) {
        guard let colon = listen.lastIndex(of: ":") else {
            throw ValidationError("--listen: expected host:port, got \"\(listen)\"")
        }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen: expected host:port, got \"\(listen)\"")
        }
        return (host, port)
    }

    private func writeStdout(_ text: String) {
        // Unbuffered, so that a script reading the pipe sees the address at once.
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
