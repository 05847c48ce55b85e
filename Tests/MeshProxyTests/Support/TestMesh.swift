import Foundation
import MeshConfig
import MeshProxy
import MeshTestSupport
import NIOCore
import Testing

/// Starting and stopping meshes in tests: always stopped, even when the body fails.
enum TestMesh {
    static func resources(_ yaml: String, file: String = "test.yaml") throws -> MeshResources {
        let result = ConfigLoader().load(text: yaml, file: file)
        if result.hasErrors { throw LocalMesh.ConfigErrorWrapper(result.errors) }
        return result.resources
    }

    static func configuration(workers: Int = 1, split: ProxyConfiguration.SplitMode = .exact, limits: ProxyConfiguration.Limits = .init(),
                              accessLog: ProxyConfiguration.AccessLogDestination? = nil) -> ProxyConfiguration {
        ProxyConfiguration(port: 0, workers: workers, split: split, accessLog: accessLog, limits: limits)
    }

    static func with<T>(files: [String], configuration: ProxyConfiguration = configuration(), _ body: (LocalMesh) async throws -> T) async throws -> T {
        let mesh = try await LocalMesh.start(files: files, proxy: configuration)
        return try await run(mesh, body)
    }

    static func with<T>(yaml: String, configuration: ProxyConfiguration = configuration(), _ body: (LocalMesh) async throws -> T) async throws -> T {
        let mesh = try await LocalMesh.start(resources: try resources(yaml), proxy: configuration)
        return try await run(mesh, body)
    }

    private static func run<T>(_ mesh: LocalMesh, _ body: (LocalMesh) async throws -> T) async throws -> T {
        do {
            let result = try await body(mesh)
            try await mesh.stop()
            return result
        } catch {
            try? await mesh.stop()
            throw error
        }
    }

    /// Polls `condition` every 10 ms until it holds or `seconds` pass.
    static func waitUntil(seconds: Double = 10, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return try await condition()
    }

    /// A service `name` with `replicas` pods per version (annotations per version), ending with
    /// a newline.
    static func service(_ name: String, versions: [String: [String: String]], replicas: Int = 1, port: Int = 9080) -> String {
        let deployments = versions.sorted(by: { $0.key < $1.key }).map { version, annotations in
            let annotationText = annotations.isEmpty ? "{}" : "{" + annotations.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ") + "}"
            return FixtureYAML.deployment(app: name, version: version, replicas: replicas, annotations: annotationText)
        }
        return ([FixtureYAML.service(name, port: port)] + deployments).joined(separator: "\n---\n") + "\n"
    }
}

extension LocalMesh {
    struct ConfigErrorWrapper: Error, CustomStringConvertible {
        var diagnostics: [ConfigDiagnostic]
        init(_ diagnostics: [ConfigDiagnostic]) { self.diagnostics = diagnostics }
        var description: String { diagnostics.map(\.description).joined(separator: "\n") }
    }
}
