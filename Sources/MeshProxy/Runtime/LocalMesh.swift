import MeshBackends
import MeshConfig
import MeshRouting
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A whole mesh on this machine: the simulated pods of the configuration's Deployments and a
/// `MeshProxy` routing to them. `meshsim serve` runs exactly this; a test can too:
///
/// ```swift
/// let mesh = try await LocalMesh.start(
///     files: ["configs/reviews", "configs/rollout/05-canary-5.yaml"],
///     proxy: ProxyConfiguration(port: 0, workers: 1, split: .exact))
/// var versions: [String: Int] = [:]
/// for _ in 0..<100 {
///     let response = try await mesh.send(host: "reviews", path: "/")
///     versions[response.headers.first(name: "x-meshsim-version") ?? "?", default: 0] += 1
/// }
/// // versions == ["v1": 95, "v2": 5]. Move to 50/50 without a restart:
/// try await mesh.apply(files: ["configs/reviews", "configs/rollout/50-canary-50.yaml"])
/// try await mesh.stop()
/// ```
public final class LocalMesh: Sendable {
    /// The configuration did not load or compile; nothing was started or changed.
    public struct ConfigError: Error, CustomStringConvertible, Sendable {
        /// Each with file:line.
        public let diagnostics: [ConfigDiagnostic]
        public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
    }

    public let proxy: MeshProxy
    public let fleet: BackendFleet
    private let backendGroup: MultiThreadedEventLoopGroup
    private let namespace: String
    private let revision = NIOLockedValueBox(0)
    /// Serialises `apply` calls so that revisions publish in order.
    private let applying = NIOLockedValueBox(false)

    /// The proxy's listening port.
    public var port: Int { proxy.port }
    public var snapshot: RoutingSnapshot { proxy.snapshot }

    private init(proxy: MeshProxy, fleet: BackendFleet, backendGroup: MultiThreadedEventLoopGroup, namespace: String) {
        self.proxy = proxy
        self.fleet = fleet
        self.backendGroup = backendGroup
        self.namespace = namespace
    }

    /// Loads `files` (files, directories, `-` for stdin) and starts pods and proxy.
    /// Throws `ConfigError` with every load error, starting nothing.
    public static func start(files: [String], namespace: String = "default", proxy configuration: ProxyConfiguration = ProxyConfiguration(),
                             seed: UInt64 = 1) async throws -> LocalMesh {
        let resources = try load(files: files, namespace: namespace)
        return try await start(resources: resources, namespace: namespace, proxy: configuration, seed: seed)
    }

    /// Starts pods and proxy for already decoded resources.
    public static func start(resources: MeshResources, namespace: String = "default", proxy configuration: ProxyConfiguration = ProxyConfiguration(),
                             seed: UInt64 = 1) async throws -> LocalMesh {
        // Compile once before starting anything, so that a bad config starts nothing.
        _ = try compile(resources, revision: 0, addresses: [:])
        let backendGroup = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(configuration.workers, System.coreCount)))
        let fleet: BackendFleet
        do {
            fleet = try await BackendFleet.start(resources: resources, group: backendGroup, seed: seed)
        } catch {
            try? await backendGroup.shutdownGracefully()
            throw (error as? BackendFleetError).map { ConfigError(diagnostics: $0.diagnostics) } ?? error
        }
        do {
            let snapshot = try compile(resources, revision: 0, addresses: endpointAddresses(fleet))
            let proxy = try await MeshProxy.start(snapshot: snapshot, configuration: configuration)
            return LocalMesh(proxy: proxy, fleet: fleet, backendGroup: backendGroup, namespace: namespace)
        } catch {
            try? await fleet.shutdown()
            try? await backendGroup.shutdownGracefully()
            throw error
        }
    }

    /// Hot reload from files: a config that fails to load or compile is rejected whole
    /// (`ConfigError`) and the running one stays.
    public func apply(files: [String]) async throws {
        try await apply(resources: Self.load(files: files, namespace: namespace))
    }

    /// Hot reload: starts new pods, stops removed ones, and publishes the new snapshot to every
    /// event loop; requests in flight finish on the snapshot they started with.
    public func apply(resources: MeshResources) async throws {
        let next = revision.withLockedValue { $0 + 1 }
        // Reject a bad config before touching the pods.
        _ = try Self.compile(resources, revision: next, addresses: Self.endpointAddresses(fleet))
        try await fleet.update(to: resources)
        let snapshot = try Self.compile(resources, revision: next, addresses: Self.endpointAddresses(fleet))
        revision.withLockedValue { $0 = max($0, next) }
        await proxy.applyAndWait(snapshot)
    }

    /// Stops the proxy, then the pods.
    public func stop() async throws {
        try await proxy.shutdown()
        try await fleet.shutdown()
        try await backendGroup.shutdownGracefully()
    }

    /// Sends one request through the proxy on a fresh connection and collects the whole
    /// response: the client of examples and tests.
    public func send(method: String = "GET", host: String, path: String = "/", headers: [(String, String)] = [], body: String? = nil) async throws -> MeshResponse {
        try await MeshClient.send(
            to: "127.0.0.1", port: port, group: backendGroup, method: method, host: host, path: path, headers: headers, body: body)
    }

    // MARK: helpers

    static func load(files: [String], namespace: String) throws -> MeshResources {
        let result = ConfigLoader(defaultNamespace: namespace).load(paths: files)
        if result.hasErrors { throw ConfigError(diagnostics: result.errors) }
        return result.resources
    }

    static func compile(_ resources: MeshResources, revision: Int, addresses: [String: EndpointAddress]) throws -> RoutingSnapshot {
        do {
            return try RoutingSnapshot(resources: resources, revision: revision, addresses: addresses)
        } catch let error as RoutingCompileError {
            throw ConfigError(diagnostics: error.diagnostics)
        }
    }

    static func endpointAddresses(_ fleet: BackendFleet) -> [String: EndpointAddress] {
        fleet.addresses.mapValues { EndpointAddress(host: $0.host, port: $0.port) }
    }
}
