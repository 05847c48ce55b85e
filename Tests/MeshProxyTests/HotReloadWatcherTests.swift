import Foundation
import MeshConfig
import MeshProxy
import Testing

/// `serve`'s file watcher: an edit of a watched file or directory is applied; a bad edit is
/// rejected whole with file:line and the running revision keeps routing.
@Suite struct HotReloadWatcherTests {
    /// A temporary directory of config files, removed at the end.
    final class ConfigDirectory: @unchecked Sendable {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-watch-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
        var path: String { url.path }

        func write(_ relative: String, _ text: String) throws {
            let file = url.appendingPathComponent(relative)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }

        func remove(_ relative: String) throws {
            try FileManager.default.removeItem(at: url.appendingPathComponent(relative))
        }
    }

    static let workloads = TestMesh.service("books", versions: ["v1": [:], "v2": [:]]) + """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: books, namespace: default}
        spec:
          host: books
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        """

    static func split(_ v1: Int, _ v2: Int) -> String {
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: books, namespace: default}
        spec:
          hosts: [books]
          http:
          - name: split
            route:
            - {destination: {host: books, subset: v1}, weight: \(v1)}
            - {destination: {host: books, subset: v2}, weight: \(v2)}
        """
    }

    /// Controller and watcher over `directory`, polling every 50 ms; both stopped at the end.
    static func watching<T>(_ directory: ConfigDirectory, _ body: (ConfigController) async throws -> T) async throws -> T {
        let controller = try await ConfigController.start(paths: [directory.path], proxy: TestMesh.configuration())
        let watcher = ConfigWatcher.start(paths: [directory.path], controller: controller, interval: .milliseconds(50))
        do {
            let result = try await body(controller)
            watcher.stop()
            try await controller.stop()
            return result
        } catch {
            watcher.stop()
            try? await controller.stop()
            throw error
        }
    }

    static func versions(_ mesh: LocalMesh, count: Int = 10) async throws -> [String: Int] {
        var seen: [String: Int] = [:]
        for _ in 0..<count {
            let response = try await mesh.send(host: "books")
            seen[response.headers.first(name: "x-meshsim-version") ?? "status \(response.status)", default: 0] += 1
        }
        return seen
    }

    @Test func anEditIsAppliedAndABadEditIsRejectedWhole() async throws {
        let directory = try ConfigDirectory()
        try directory.write("workloads.yaml", Self.workloads)
        try directory.write("routes/split.yaml", Self.split(90, 10))
        try await Self.watching(directory) { controller in
            let mesh = controller.mesh
            #expect(try await Self.versions(mesh) == ["v1": 9, "v2": 1])

            // An edit in a subdirectory.
            try directory.write("routes/split.yaml", Self.split(30, 70))
            #expect(await TestMesh.waitUntil { mesh.snapshot.revision == 1 })
            #expect(try await Self.versions(mesh) == ["v1": 3, "v2": 7])
            #expect(await controller.status.state == .accepted)
            #expect(await controller.current.origin == .files)

            // A bad edit: rejected with the file and line, routing stays at 30/70.
            try directory.write("routes/split.yaml", Self.split(30, -70))
            #expect(await TestMesh.waitUntil { await controller.status.state == .rejected })
            let status = await controller.status
            #expect(status.revision == 1)
            #expect(status.errors.contains { $0.file.hasSuffix("routes/split.yaml") && $0.line == 10 })
            #expect(mesh.snapshot.revision == 1)
            #expect(try await Self.versions(mesh) == ["v1": 3, "v2": 7])

            // Fixed: applied as the next revision.
            try directory.write("routes/split.yaml", Self.split(0, 100))
            #expect(await TestMesh.waitUntil { mesh.snapshot.revision == 2 })
            #expect(try await Self.versions(mesh) == ["v2": 10])
            #expect(await controller.revisions.map(\.number) == [0, 1, 2])
        }
    }

    @Test func newAndRemovedFilesStartAndStopPods() async throws {
        let directory = try ConfigDirectory()
        try directory.write("workloads.yaml", Self.workloads)
        try directory.write("split.yaml", Self.split(100, 0))
        try await Self.watching(directory) { controller in
            let mesh = controller.mesh
            #expect(mesh.fleet.addresses.count == 2)
            // A new file with a third Deployment: its pod starts.
            let v3 = TestMesh.service("books", versions: ["v3": [:]]).components(separatedBy: "---").dropFirst().joined(separator: "---")
            try directory.write("v3.yaml", v3)
            #expect(await TestMesh.waitUntil { mesh.snapshot.revision == 1 })
            #expect(mesh.fleet.addresses["default/books-v3-0"] != nil)
            #expect(mesh.fleet.addresses.count == 3)
            // The file goes: so does the pod.
            try directory.remove("v3.yaml")
            #expect(await TestMesh.waitUntil { mesh.snapshot.revision == 2 })
            #expect(mesh.fleet.addresses["default/books-v3-0"] == nil)
            #expect(try await Self.versions(mesh) == ["v1": 10])
        }
    }

    @Test func startRejectsAnInvalidConfigAndStartsNothing() async throws {
        let directory = try ConfigDirectory()
        try directory.write("split.yaml", Self.workloads + "\n---\n" + Self.split(50, -50))
        await #expect(throws: LocalMesh.ConfigError.self) {
            _ = try await ConfigController.start(paths: [directory.path], proxy: TestMesh.configuration())
        }
    }
}
