import Foundation
import MeshBackends
import MeshConfig
import MeshRouting

/// The control plane of one `LocalMesh`: every change of configuration (the files changing, a
/// `POST /config`, a rollback) goes through here, one at a time, along the same path:
/// decode → validate (`Validator`) → compile → start/stop pods → publish to every event loop.
/// A change with any error is rejected whole and the running revision stays; each applied one
/// is kept (the last `historyLimit`) so that it can be rolled back to.
public actor ConfigController {
    public nonisolated let mesh: LocalMesh
    /// Namespace of resources that name none.
    public nonisolated let namespace: String
    private var history: RevisionHistory
    private var lastStatus: ReloadStatus
    private let log: @Sendable (String) -> Void
    /// Serialises changes: an actor alone would let a second change start while the first
    /// awaits the pods.
    private var changing = false
    private var waitingToChange: [CheckedContinuation<Void, Never>] = []

    /// Takes over a running mesh that serves `resources` (read from `sources`).
    /// - Parameter log: receives one line (or a few) per accepted or rejected change.
    public init(
        mesh: LocalMesh, resources: MeshResources, sources: [ConfigSource], namespace: String = "default",
        warnings: [ConfigDiagnostic] = [], historyLimit: Int = 20, log: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.mesh = mesh
        self.namespace = namespace
        self.log = log
        let initial = ConfigRevision(number: mesh.snapshot.revision, resources: resources, sources: sources, appliedAt: Date(), origin: .files)
        self.history = RevisionHistory(initial: initial, limit: historyLimit)
        self.lastStatus = ReloadStatus(
            state: .accepted, origin: .files, time: initial.appliedAt, revision: initial.number, errors: [], warnings: warnings)
    }

    /// Loads and validates `paths`, then starts pods and proxy; a configuration with errors
    /// throws `LocalMesh.ConfigError` and starts nothing.
    public static func start(
        paths: [String], namespace: String = "default", proxy: ProxyConfiguration = ProxyConfiguration(), seed: UInt64 = 1,
        historyLimit: Int = 20, log: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> ConfigController {
        let files = ConfigFileSet.read(paths: paths, namespace: namespace)
        let (errors, warnings) = Self.check(files.loaded)
        if !errors.isEmpty { throw LocalMesh.ConfigError(diagnostics: errors) }
        let mesh = try await LocalMesh.start(resources: files.loaded.resources, namespace: namespace, proxy: proxy, seed: seed)
        return ConfigController(
            mesh: mesh, resources: files.loaded.resources, sources: files.sources, namespace: namespace, warnings: warnings,
            historyLimit: historyLimit, log: log)
    }

    /// The revision serving now.
    public var current: ConfigRevision { history.current }

    /// The kept revisions, oldest first (the last is the current one).
    public var revisions: [ConfigRevision] { history.revisions }

    /// How the last change attempt ended.
    public var status: ReloadStatus { lastStatus }

    // MARK: changes

    /// The files changed: applies what they hold now (the whole set replaces the running one).
    public func reload(_ files: ConfigFileSet) async -> ApplyOutcome {
        await serialised {
            let (errors, warnings) = Self.check(files.loaded)
            if !errors.isEmpty { return reject(errors, origin: .files) }
            return await publish(files.loaded.resources, sources: files.sources, origin: .files, warnings: warnings)
        }
    }

    /// `kubectl apply`: decodes `sources` and merges their resources into the running set
    /// (same kind, namespace and name replaces; new ones are added; others stay).
    public func apply(_ sources: [ConfigSource]) async -> ApplyOutcome {
        await serialised {
            let loader = ConfigLoader(defaultNamespace: namespace)
            var loaded = LoadResult()
            for source in sources { loaded.merge(loader.load(text: source.content, file: source.name)) }
            let (errors, _) = Self.check(loaded)
            if !errors.isEmpty { return reject(errors, origin: .api) }
            let base = current
            let merged = base.resources.upserting(loaded.resources)
            let (mergedErrors, warnings) = Self.check(resources: merged)
            if !mergedErrors.isEmpty { return reject(mergedErrors, origin: .api) }
            var mergedSources = base.sources.filter { old in !sources.contains { $0.name == old.name } }
            mergedSources += sources
            return await publish(merged, sources: mergedSources, origin: .api, warnings: warnings)
        }
    }

    /// Applies a kept revision again (by default the one before the current), as a new revision.
    public func rollback(to number: Int? = nil) async -> ApplyOutcome {
        await serialised {
            let target: ConfigRevision
            if let number {
                guard let kept = history.revision(number) else {
                    let kept = history.revisions.map { String($0.number) }.joined(separator: ", ")
                    return reject([Self.error("revision \(number) is not kept (kept: \(kept))")], origin: .rollback(to: number))
                }
                target = kept
            } else {
                guard let previous = history.previous else {
                    return reject([Self.error("no revision before \(current.number) to roll back to")], origin: .rollback(to: current.number))
                }
                target = previous
            }
            let (errors, warnings) = Self.check(resources: target.resources)
            if !errors.isEmpty { return reject(errors, origin: .rollback(to: target.number)) }
            return await publish(target.resources, sources: target.sources, origin: .rollback(to: target.number), warnings: warnings)
        }
    }

    /// Stops proxy and pods.
    public func stop() async throws {
        try await mesh.stop()
    }

    // MARK: the one path every change takes

    private func publish(_ resources: MeshResources, sources: [ConfigSource], origin: ConfigRevision.Origin, warnings: [ConfigDiagnostic]) async -> ApplyOutcome {
        let running = current
        if resources == running.resources {
            lastStatus = ReloadStatus(state: .unchanged, origin: origin, time: Date(), revision: running.number, errors: [], warnings: warnings)
            return .unchanged(running)
        }
        do {
            try await mesh.apply(resources: resources)
        } catch let error as LocalMesh.ConfigError {
            return reject(error.diagnostics, origin: origin)
        } catch let error as BackendFleetError {
            return reject(error.diagnostics, origin: origin)
        } catch {
            return reject([Self.error("cannot apply: \(error)")], origin: origin)
        }
        let revision = ConfigRevision(number: mesh.snapshot.revision, resources: resources, sources: sources, appliedAt: Date(), origin: origin)
        history.append(revision)
        lastStatus = ReloadStatus(state: .accepted, origin: origin, time: revision.appliedAt, revision: revision.number, errors: [], warnings: warnings)
        let snapshot = mesh.snapshot
        log("revision \(revision.number) applied (\(origin)): \(snapshot.hosts.count) hosts, \(snapshot.clusters.count) clusters, \(mesh.fleet.addresses.count) pods")
        for warning in warnings { log(warning.description) }
        return .applied(revision)
    }

    private func reject(_ errors: [ConfigDiagnostic], origin: ConfigRevision.Origin) -> ApplyOutcome {
        let running = current.number
        lastStatus = ReloadStatus(state: .rejected, origin: origin, time: Date(), revision: running, errors: errors, warnings: [])
        log("change rejected (\(origin)); revision \(running) keeps serving:\n" + errors.map { "  \($0.description)" }.joined(separator: "\n"))
        return .rejected(errors: errors, revision: running)
    }

    private func serialised(_ change: () async -> ApplyOutcome) async -> ApplyOutcome {
        if changing {
            await withCheckedContinuation { waitingToChange.append($0) }
        }
        changing = true
        defer {
            if waitingToChange.isEmpty {
                changing = false
            } else {
                // Hand over directly, so that no newcomer slips in between.
                waitingToChange.removeFirst().resume()
            }
        }
        return await change()
    }

    // MARK: checks

    /// Load errors, then Istio's validation; warnings of both.
    static func check(_ loaded: LoadResult) -> (errors: [ConfigDiagnostic], warnings: [ConfigDiagnostic]) {
        if loaded.hasErrors { return (loaded.errors, []) }
        let (errors, warnings) = check(resources: loaded.resources)
        return (errors, loaded.diagnostics.filter { $0.severity == .warning } + warnings)
    }

    static func check(resources: MeshResources) -> (errors: [ConfigDiagnostic], warnings: [ConfigDiagnostic]) {
        let diagnostics = Validator().validate(resources)
        return (diagnostics.filter { $0.severity == .error }, diagnostics.filter { $0.severity == .warning })
    }

    private static func error(_ message: String) -> ConfigDiagnostic {
        ConfigDiagnostic(severity: .error, file: "<control>", line: nil, message: message)
    }
}
