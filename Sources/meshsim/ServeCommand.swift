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

            The -f files are watched: an edit is validated and applied without a restart (requests \
            in flight finish on the configuration they started with); an invalid edit is rejected \
            whole with file:line and the running configuration stays. The admin server \
            (--admin, default 127.0.0.1:15000) serves /stats/prometheus (Istio's metrics), /stats, \
            /config_dump, /clusters, /ready, /config/revisions, and takes POST /config (meshsim \
            apply) and POST /config/rollback (meshsim rollback).
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

    @Flag(help: ArgumentHelp(
        "Serve HTTP/1.0 requests, as a sidecar does with PILOT_HTTP10=true or ISTIO_META_HTTP10=1.",
        discussion: "By default Istio's sidecar answers HTTP/1.0 (curl -0, ab) with 426 Upgrade Required."))
    var http10 = false

    @Flag(help: ArgumentHelp(
        "Append the client's address to x-forwarded-for, as a sidecar does with PILOT_SIDECAR_USE_REMOTE_ADDRESS=true.",
        discussion: "By default Istio's sidecar forwards x-forwarded-for as the client sent it, adds none, and ignores an application's x-envoy-* timeout and retry headers; with this flag the request counts as internal and they are believed."))
    var useRemoteAddress = false

    @Option(help: "Write Envoy's default access log to PATH, or - for standard output.")
    var accessLog: String?

    @Option(help: ArgumentHelp(
        "host:port of the admin server (metrics, config dump, apply, rollback); port 0 picks a free port; off disables it.",
        discussion: "Default 127.0.0.1:15000; if that port is taken, serve goes on without an admin server."))
    var admin: String?

    @Option(help: "Seconds between checks of the -f files for changes (hot reload).")
    var watchInterval: Double = 1

    @Flag(help: "Do not watch the -f files; change the configuration through the admin server only.")
    var noWatch = false

    @Option(help: "Applied revisions kept for rollback.")
    var revisionHistory: Int = 20

    static let defaultAdmin = "127.0.0.1:15000"

    func validate() throws {
        if config.files.isEmpty { throw ValidationError("no configuration given: pass -f PATH (a file or directory)") }
        _ = try listenAddress()
        _ = try adminAddress()
        if let workers { try requireOption("--workers", workers, in: 1...256) }
        try requireOption("--watch-interval", watchInterval, in: 0.05...3600, unit: " seconds")
        try requireOption("--revision-history", revisionHistory, in: 1...10_000)
    }

    func run() async throws {
        let (host, port) = try listenAddress()
        // Decode and validate as every later reload will: a configuration with errors starts nothing.
        let files = ConfigFileSet.read(paths: config.files, namespace: config.namespace)
        let result = files.loaded
        for diagnostic in result.diagnostics { printError(diagnostic.description) }
        if result.hasErrors { throw ExitCode.failure }
        let validation = Validator().validate(result.resources)
        for diagnostic in validation { printError(diagnostic.description) }
        if validation.contains(where: { $0.severity == .error }) { throw ExitCode.failure }
        let seed = self.seed ?? UInt64(Date().timeIntervalSince1970 * 1000)
        var proxyConfiguration = ProxyConfiguration(host: host, port: port)
        proxyConfiguration.workers = workers ?? System.coreCount
        proxyConfiguration.split = split == .exact ? .exact : .random(seed: seed)
        proxyConfiguration.debugHeaders = !noDebugHeaders
        proxyConfiguration.acceptHTTP10 = http10
        proxyConfiguration.useRemoteAddress = useRemoteAddress
        if let accessLog { proxyConfiguration.accessLog = accessLog == "-" ? .standardOutput : .file(accessLog) }
        proxyConfiguration.eventLog = { printError("meshsim serve: \($0)") }

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
        let controller = ConfigController(
            mesh: mesh, resources: result.resources, sources: files.sources, namespace: config.namespace,
            warnings: validation.filter { $0.severity == .warning }, historyLimit: revisionHistory,
            log: { printError("meshsim serve: \($0)") })
        let adminServer: AdminServer?
        do {
            adminServer = try await startAdmin(controller)
        } catch {
            printError("meshsim serve: cannot start the admin server on \(admin ?? Self.defaultAdmin): \(error)")
            try? await mesh.stop()
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
        if let adminServer {
            let address = adminServer.localAddress.ipAddress ?? "127.0.0.1"
            let shown = address.contains(":") ? "[\(address)]" : address
            writeStdout("admin on http://\(shown):\(adminServer.port) (/stats/prometheus, /config_dump, POST /config)\n")
        }
        let watcher = startWatcher(controller, baseline: files.fingerprint)

        let signal = await signals.wait()
        watcher?.stop()
        try? await adminServer?.shutdown()
        let stats = await mesh.proxy.collectStats()
        try await mesh.stop()
        writeStdout("meshsim serve stopped on signal \(signal): \(stats.totalRequests) requests\n")
    }

    func listenAddress() throws -> (String, Int) {
        try HostPort.parse(listen, option: "--listen")
    }

    /// nil when `--admin off`.
    func adminAddress() throws -> (String, Int)? {
        let text = admin ?? Self.defaultAdmin
        if text == "off" || text == "none" { return nil }
        return try HostPort.parse(text, option: "--admin")
    }

    /// The admin server, or nil when disabled. When `--admin` was not given and the default port
    /// is taken (another serve runs), goes on without one rather than failing.
    private func startAdmin(_ controller: ConfigController) async throws -> AdminServer? {
        guard let (host, port) = try adminAddress() else { return nil }
        do {
            return try await AdminServer.start(controller: controller, host: host, port: port)
        } catch where admin == nil {
            printError("meshsim serve: no admin server: cannot listen on \(Self.defaultAdmin) (\(error)); pass --admin 127.0.0.1:0 for a free port")
            return nil
        }
    }

    /// Hot reload of the -f paths, unless disabled or one of them is standard input.
    private func startWatcher(_ controller: ConfigController, baseline: Int) -> ConfigWatcher? {
        if noWatch { return nil }
        if config.files.contains("-") {
            printError("meshsim serve: not watching for changes: the configuration includes standard input")
            return nil
        }
        return ConfigWatcher.start(
            paths: config.files, controller: controller, baseline: baseline, interval: .milliseconds(Int64(watchInterval * 1000)))
    }

    private func writeStdout(_ text: String) {
        // Unbuffered, so that a script reading the pipe sees the address at once.
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
