import Foundation
import MeshConfig
import MeshLoad
import MeshProxy
import NIOPosix

/// What the demo reports as it goes, in order.
public enum DemoEvent: Sendable {
    case plan(PlanRow)
    /// A hold begins: `kind` is "step", "rollback" (the window around the swap) or "after-rollback".
    case holdStarted(step: Int, canaryWeight: Int, kind: String, duration: Duration)
    /// Every 250ms of a hold.
    case progress(IntervalReport)
    case step(StepRow)
    case rollback(RollbackRow)
    case summary(SummaryRow)
}

/// `meshsim demo`: a canary rollout under constant load with automatic rollback, in one process.
///
/// Starts the simulated pods and the proxy (`LocalMesh`) on the first step's routes, then for each
/// step applies its VirtualService (beta users → canary, the rest split by the step's weights),
/// holds it under open-loop load and measures it. When the canary crosses a threshold, applies the
/// all-stable routes while the load goes on, checks that no request failed because of the swap,
/// and holds the rolled-back routes once more to show where the traffic went.
public struct DemoRunner: Sendable {
    public static let betaClass = "beta"
    public static let regularClass = "regular"

    public var settings: DemoSettings
    /// `-f` files with the workloads; empty: the bundled scenario.
    public var workloadFiles: [String]
    /// Where the scenario files (routes of every step, the mix, the bundled workloads) are written.
    public var scenarioDirectory: String

    public init(settings: DemoSettings, workloadFiles: [String] = [], scenarioDirectory: String) {
        self.settings = settings
        self.workloadFiles = workloadFiles
        self.scenarioDirectory = scenarioDirectory
    }

    /// A new, empty directory under the system's temporary directory.
    public static func makeScenarioDirectory() throws -> String {
        let template = (NSTemporaryDirectory() as NSString).appendingPathComponent("meshsim-demo.XXXXXX")
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else {
            throw DemoInputError("cannot create a directory for the scenario files under \(NSTemporaryDirectory())")
        }
        return String(cString: made)
    }

    /// Runs the whole demo, reporting to `observe`; returns the summary (also reported). Throws
    /// `DemoInputError`, `DemoConfigError` or `LocalMesh.ConfigError` for bad input, `CancellationError` when cancelled
    /// (everything started is stopped first).
    @discardableResult
    public func run(observe: @escaping @Sendable (DemoEvent) -> Void) async throws -> SummaryRow {
        try settings.validate()
        let scenario = try writeScenario()
        let classes = try RequestMix.parse(
            text: DemoScenario.loadMix, file: scenario.mixPath, defaults: RequestClass(path: "/"))
        guard classes.contains(where: { $0.name == Self.regularClass }), classes.contains(where: { $0.name == Self.betaClass }) else {
            throw DemoInputError("the bundled load mix lacks the classes \(Self.regularClass) and \(Self.betaClass)")
        }
        try checkWorkloadFiles(scenario.workloadPaths)

        let mesh = try await DemoMesh.start(settings: settings, workloadPaths: scenario.workloadPaths, routePaths: scenario.routePaths)
        let loadGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let session = DemoSession(
                settings: settings, mesh: mesh, classes: classes, loadGroup: loadGroup, scenario: scenario, observe: observe)
            let summary = try await session.run()
            try await mesh.mesh.stop()
            try await loadGroup.shutdownGracefully()
            return summary
        } catch {
            try? await mesh.mesh.stop()
            try? await loadGroup.shutdownGracefully()
            throw error
        }
    }

    struct Scenario: Sendable {
        var directory: String
        var workloadPaths: [String]
        var routePaths: [Int: String]
        var mixPath: String
    }

    func writeScenario() throws -> Scenario {
        let settings = self.settings
        let routePaths: [Int: String]
        do {
            routePaths = try DemoScenario.write(
                to: scenarioDirectory, steps: settings.steps,
                routes: { weight in
                    DemoScenario.virtualService(
                        canaryWeight: weight, host: settings.host, namespace: settings.namespace, stable: settings.stableSubset,
                        canary: settings.canarySubset)
                },
                includeWorkloads: workloadFiles.isEmpty)
        } catch {
            throw DemoInputError("cannot write the scenario files to \(scenarioDirectory): \(error.localizedDescription)")
        }
        let base = URL(fileURLWithPath: scenarioDirectory)
        let workloads = workloadFiles.isEmpty ? [base.appendingPathComponent(DemoScenario.workloadsDirectory).path] : workloadFiles
        return Scenario(
            directory: base.path, workloadPaths: workloads, routePaths: routePaths,
            mixPath: base.appendingPathComponent(DemoScenario.loadMixFile).path)
    }

    /// `-f` files must leave the demo service's routes to the demo: a VirtualService of their own
    /// for it would be merged with the demo's and change what each step means.
    func checkWorkloadFiles(_ paths: [String]) throws {
        guard !workloadFiles.isEmpty else { return }
        let result = ConfigLoader(defaultNamespace: settings.namespace).load(paths: paths)
        if result.hasErrors { throw DemoConfigError(diagnostics: result.errors) }
        let fqdn = HostName.fullyQualified(settings.host, namespace: settings.namespace)
        for service in result.resources.virtualServices {
            let hosts = service.spec.hosts ?? []
            if hosts.contains(where: { HostName.overlaps(HostName.fullyQualified($0, namespace: service.namespace), fqdn) }) {
                throw DemoInputError(
                    "\(service.location.file):\(service.location.line): VirtualService \(service.qualifiedName) routes \(settings.host); "
                        + "meshsim demo writes the routes of \(settings.host) itself: leave that VirtualService out of -f")
            }
        }
    }
}

/// The `-f` files did not load; each diagnostic has file:line.
public struct DemoConfigError: Error, CustomStringConvertible, Sendable {
    public let diagnostics: [ConfigDiagnostic]
    public init(diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
