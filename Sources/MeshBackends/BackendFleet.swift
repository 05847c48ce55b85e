import MeshConfig
import NIOConcurrencyHelpers
import NIOCore

/// Every simulated pod of a set of resources: `replicas` pods per Deployment, each a
/// `SimulatedBackend` on its own port, with the behaviour its pod template's annotations give.
public final class BackendFleet: Sendable {
    /// One pod the resources ask for.
    public struct PodSpec: Sendable, Hashable {
        public var identity: BackendIdentity
        public var profile: BehaviorProfile
        public var seed: UInt64
    }

    private struct Published {
        var addresses: [String: SimulatedPodAddress] = [:]
        var backends: [String: SimulatedBackend] = [:]
    }

    private let group: any EventLoopGroup
    private let host: String
    private let seed: UInt64
    private let drainPeriod: TimeAmount
    private let published = NIOLockedValueBox(Published())
    /// Pods removed by an update, finishing their requests in the background.
    private let draining = NIOLockedValueBox<[SimulatedBackend]>([])
    /// Serialises start, update and shutdown; readers use `published` without waiting.
    private let changes = FleetChangeQueue()

    private init(group: any EventLoopGroup, host: String, seed: UInt64, drainPeriod: TimeAmount) {
        self.group = group
        self.host = host
        self.seed = seed
        self.drainPeriod = drainPeriod
    }

    /// Starts a pod for every replica of every Deployment. Throws `BackendFleetError` (with
    /// file:line) for bad `meshsim.dev/*` annotations before starting anything. Pods that a
    /// later update removes get `drainPeriod` to answer the requests they already hold, like a
    /// terminating pod.
    public static func start(
        resources: MeshResources, group: any EventLoopGroup, seed: UInt64 = 1, host: String = "127.0.0.1",
        drainPeriod: TimeAmount = .seconds(5)
    ) async throws -> BackendFleet {
        let fleet = BackendFleet(group: group, host: host, seed: seed, drainPeriod: drainPeriod)
        try await fleet.update(to: resources)
        return fleet
    }

    /// Where each pod listens, keyed `namespace/pod` (e.g. `default/reviews-v1-0`).
    public var addresses: [String: SimulatedPodAddress] { published.withLockedValue { $0.addresses } }

    /// The running pods, keyed like `addresses`.
    public var backends: [String: SimulatedBackend] { published.withLockedValue { $0.backends } }

    /// Each pod's counters, keyed like `addresses`.
    public var stats: [String: BackendStats] { backends.mapValues(\.stats) }

    /// Hot reload: starts the pods that are new, stops the ones that are gone, and keeps the
    /// others on the same ports (with their identity and profile updated in place). If the new
    /// resources have a bad annotation or a new pod cannot start, the fleet stays as it was.
    /// Returns once the new set is published; gone pods stop listening at once and drain in the
    /// background.
    public func update(to resources: MeshResources) async throws {
        let desired = try Self.pods(of: resources, seed: seed)
        try await changes.run { [self] in
            let running = published.withLockedValue { $0.backends }
            var started: [String: SimulatedBackend] = [:]
            do {
                // A simulated pod stands for an app with its sidecar, whose inbound listener
                // takes HTTP/1.1 and h2c alike: the client side's cluster (port protocol,
                // h2UpgradePolicy, useClientProtocol) decides what goes on the wire.
                for (key, spec) in desired where running[key] == nil {
                    started[key] = try await SimulatedBackend.start(
                        identity: spec.identity, profile: spec.profile, host: host, port: 0, group: group, seed: spec.seed,
                        servesHTTP2: true)
                }
            } catch {
                for backend in started.values { try? await backend.shutdown() }
                throw error
            }
            var next = Published()
            for (key, spec) in desired {
                guard let backend = started[key] ?? running[key] else { continue }
                backend.update(identity: spec.identity, profile: spec.profile)
                next.backends[key] = backend
                next.addresses[key] = SimulatedPodAddress(host: backend.host, port: backend.port, identity: spec.identity)
            }
            // Publish first, so nobody is handed a pod that is about to stop.
            published.withLockedValue { $0 = next }
            for (key, backend) in running where next.backends[key] !== backend {
                draining.withLockedValue { $0.append(backend) }
                let period = drainPeriod
                Task { [self] in
                    try? await backend.shutdown(drainingFor: period)
                    draining.withLockedValue { $0.removeAll { $0 === backend } }
                }
            }
        }
    }

    /// Stops every pod at once, draining ones included.
    public func shutdown() async throws {
        try await changes.run { [self] in
            let running = published.withLockedValue { published in
                defer { published = Published() }
                return published.backends
            }
            let stopping = draining.withLockedValue { $0 }
            for backend in Array(running.values) + stopping { try await backend.shutdown() }
        }
    }

    /// The pods `resources` declare, keyed `namespace/pod`, with their parsed profiles and seeds.
    public static func pods(of resources: MeshResources, seed: UInt64) throws -> [String: PodSpec] {
        var pods: [String: PodSpec] = [:]
        var problems: [ConfigDiagnostic] = []
        for deployment in resources.deployments {
            let profile: BehaviorProfile
            do {
                profile = try BehaviorProfile(annotations: deployment.spec.podAnnotations)
            } catch let error as BehaviorProfileError {
                problems.append(deployment.diagnostic(
                    .error, ["template", "metadata", "annotations", .key(error.annotation)],
                    "invalid value \"\(error.value)\": \(error.reason)"))
                continue
            }
            for workload in ServiceRegistry.pods(of: deployment) {
                let identity = BackendIdentity(workload)
                guard pods[identity.key] == nil else {
                    problems.append(deployment.diagnostic(
                        .error, rootPath: ["metadata", "name"], "pod \(identity.key) is declared twice (duplicate Deployment?)"))
                    break
                }
                pods[identity.key] = PodSpec(
                    identity: identity, profile: profile, seed: SeededRandom.podSeed(runSeed: seed, podKey: identity.key))
            }
        }
        guard problems.isEmpty else { throw BackendFleetError(diagnostics: problems) }
        return pods
    }
}

/// Resources whose simulated pods cannot run as written.
public struct BackendFleetError: Error, Sendable, Hashable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]
    public init(diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Runs async operations one at a time, in the order they were submitted.
private actor FleetChangeQueue {
    private var tail: Task<Void, Never>?

    func run(_ operation: @escaping @Sendable () async throws -> Void) async throws {
        let previous = tail
        let task = Task<Result<Void, any Error>, Never> {
            await previous?.value
            do {
                try await operation()
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        tail = Task { _ = await task.value }
        try await task.value.get()
    }
}
