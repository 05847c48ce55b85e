import Foundation
import MeshTestSupport
import Testing

/// `meshsim serve --admin` with `meshsim apply`, `rollback` and `revisions` as processes, checked
/// with curl: what a user does to change a running mesh.
@Suite struct ApplyRollbackCommandTests {
    typealias RunningServe = ServeCommandTests.RunningServe

    /// A copy of configs/reviews plus one rollout step, in a temporary directory.
    final class Workspace: @unchecked Sendable {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-apply-\(UUID().uuidString)")
        var path: String { url.path }

        init(step: String) throws {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            let reviews = URL(fileURLWithPath: MeshsimRunner.configs("reviews"))
            for name in try FileManager.default.contentsOfDirectory(atPath: reviews.path) {
                try FileManager.default.copyItem(at: reviews.appendingPathComponent(name), to: url.appendingPathComponent(name))
            }
            try FileManager.default.copyItem(
                at: URL(fileURLWithPath: MeshsimRunner.configs("rollout/\(step)")), to: url.appendingPathComponent("virtual-service.yaml"))
        }

        deinit { try? FileManager.default.removeItem(at: url) }

        func write(_ name: String, _ text: String) throws {
            try text.write(to: url.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }

    static let badWeights = """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: default}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews, subset: v1}
              weight: -5
        """

    /// Starts `meshsim serve` on free ports; returns it with its proxy and admin ports.
    static func serve(_ workspace: Workspace, extra: [String] = []) async throws -> (RunningServe, proxy: Int, admin: Int) {
        let serve = try RunningServe([
            "-f", workspace.path, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--workers", "1", "--split", "exact",
        ] + extra)
        let ports = try await onOwnThread { () -> (Int?, Int?) in
            let proxy = serve.listeningPort()
            _ = serve.wait { serve.text.contains("admin on http://") || !serve.isRunning }
            let admin = serve.text.firstMatch(of: /admin on http:\/\/127\.0\.0\.1:(\d+)/).flatMap { Int($0.1) }
            return (proxy, admin)
        }
        guard let proxy = ports.0, let admin = ports.1 else {
            _ = try? await onOwnThread { serve.stop() }
            throw CLIFailure("serve did not print its ports: \(serve.text)")
        }
        return (serve, proxy, admin)
    }

    /// The `x-meshsim-version` of `count` curl requests through the proxy.
    static func versions(port: Int, count: Int = 10) async throws -> [String: Int] {
        try await onOwnThread {
            var seen: [String: Int] = [:]
            for _ in 0..<count {
                let answer = try ServeCommandTests.curl(["-H", "Host: reviews", "http://127.0.0.1:\(port)/"])
                let version = answer.firstMatch(of: /x-meshsim-version: (\S+)/).map { String($0.1) } ?? "none"
                seen[version, default: 0] += 1
            }
            return seen
        }
    }

    static func meshsim(_ arguments: [String]) async throws -> MeshsimRunner.Output {
        try await MeshsimRunner.run(arguments, timeout: 60)
    }

    static func curl(_ arguments: [String]) async throws -> String {
        try await onOwnThread { try ServeCommandTests.curl(arguments) }
    }

    @Test func applyRejectRollbackAndRevisionsAgainstARunningServe() async throws {
        let workspace = try Workspace(step: "00-all-v1.yaml")
        let (serve, proxy, adminPort) = try await Self.serve(workspace, extra: ["--no-watch"])
        defer { _ = serve.stop() }
        let admin = "127.0.0.1:\(adminPort)"

        let ready = try await Self.curl(["http://\(admin)/ready"])
        #expect(ready.hasPrefix("HTTP/1.1 200 OK"))
        #expect(ready.hasSuffix("LIVE\n"))
        #expect(try await Self.versions(port: proxy) == ["v1": 10])

        // apply: a new revision, and the traffic follows it.
        let applied = try await Self.meshsim(["apply", "-f", MeshsimRunner.configs("rollout/100-all-v2.yaml"), "--admin", admin])
        #expect(applied.status == 0, "\(applied.stderr)")
        #expect(applied.stdout == "revision 1 applied\n")
        #expect(try await Self.versions(port: proxy) == ["v2": 10])

        // A bad file: exit 1 with file:line, and routing stays on v2.
        try workspace.write("bad.yaml", Self.badWeights)
        let rejected = try await Self.meshsim(["apply", "-f", workspace.url.appendingPathComponent("bad.yaml").path, "--admin", admin])
        #expect(rejected.status == 1)
        #expect(rejected.stderr.contains("bad.yaml:9: error: VirtualService default/reviews: http[0].route[0].weight"))
        #expect(rejected.stderr.contains("rejected: 1 error; revision 1 keeps serving"))
        #expect(try await Self.versions(port: proxy) == ["v2": 10])
        let dump = try await Self.curl(["http://\(admin)/config_dump"])
        #expect(dump.contains("\"state\" : \"REJECTED\""))
        #expect(serve.text.contains("change rejected (api); revision 1 keeps serving"))

        // rollback: to the previous revision (all v1), then to a named one (all v2).
        let back = try await Self.meshsim(["rollback", "--admin", admin])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(back.stdout == "rolled back: revision 2 applied\n")
        #expect(try await Self.versions(port: proxy) == ["v1": 10])
        let named = try await Self.meshsim(["rollback", "--revision", "1", "--admin", admin])
        #expect(named.stdout == "rolled back to revision 1: revision 3 applied\n")
        #expect(try await Self.versions(port: proxy) == ["v2": 10])
        let missing = try await Self.meshsim(["rollback", "--revision", "42", "--admin", admin])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("revision 42 is not kept"))

        let revisions = try await Self.meshsim(["revisions", "--admin", admin])
        #expect(revisions.status == 0)
        let rows = revisions.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(rows == ["3*", "2", "1", "0"])
        #expect(revisions.stdout.contains("rollback to 1"))

        // The metrics saw both versions.
        let metrics = try await Self.curl(["http://\(admin)/stats/prometheus"])
        #expect(metrics.contains("destination_version=\"v1\""))
        #expect(metrics.contains("destination_version=\"v2\""))
        #expect(metrics.contains("meshsim_config_revision 3"))
    }

    @Test func editedFilesAreReloadedWhileServing() async throws {
        let workspace = try Workspace(step: "00-all-v1.yaml")
        let (serve, proxy, _) = try await Self.serve(workspace, extra: ["--watch-interval", "0.1"])
        defer { _ = serve.stop() }
        #expect(try await Self.versions(port: proxy) == ["v1": 10])
        let allV2 = try String(contentsOfFile: MeshsimRunner.configs("rollout/100-all-v2.yaml"), encoding: .utf8)
        try workspace.write("virtual-service.yaml", allV2)
        let reloaded = try await onOwnThread { serve.wait { serve.text.contains("revision 1 applied (files)") } }
        #expect(reloaded, "\(serve.text)")
        #expect(try await Self.versions(port: proxy) == ["v2": 10])
        // A broken edit is logged with file:line and changes nothing.
        try workspace.write("virtual-service.yaml", Self.badWeights)
        let logged = try await onOwnThread { serve.wait { serve.text.contains("change rejected (files)") } }
        #expect(logged)
        #expect(serve.text.contains("virtual-service.yaml:9: error:"))
        #expect(try await Self.versions(port: proxy) == ["v2": 10])
    }

    @Test func applyWithoutARunningServeFailsClearly() async throws {
        // A port nobody listens on: bound and released.
        let port = try await onOwnThread { () -> Int in
            let socket = try ServerSocketProbe()
            return socket.port
        }
        let output = try await Self.meshsim(["apply", "-f", MeshsimRunner.configs("rollout/00-all-v1.yaml"), "--admin", "127.0.0.1:\(port)"])
        #expect(output.status == 1)
        #expect(output.stderr.contains("cannot reach the meshsim admin server at 127.0.0.1:\(port)"))
        let usage = try await Self.meshsim(["apply"])
        #expect(usage.status != 0)
        #expect(usage.stderr.contains("pass -f PATH"))
    }

    @Test func serveRefusesBadAdminAndWatchOptionsAndATakenAdminPort() async throws {
        let badAdmin = try await Self.meshsim(["serve", "-f", "configs/reviews", "--admin", "nowhere"])
        #expect(badAdmin.status != 0)
        #expect(badAdmin.stderr.contains("--admin: expected host:port"))
        let badInterval = try await Self.meshsim(["serve", "-f", "configs/reviews", "--watch-interval", "0"])
        #expect(badInterval.status != 0)
        #expect(badInterval.stderr.contains("--watch-interval"))

        // An admin address given explicitly must be had: a second serve on the same one exits 1.
        let workspace = try Workspace(step: "00-all-v1.yaml")
        let (serve, _, adminPort) = try await Self.serve(workspace, extra: ["--no-watch"])
        defer { _ = serve.stop() }
        let second = try await Self.meshsim([
            "serve", "-f", workspace.path, "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:\(adminPort)", "--workers", "1",
        ])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot start the admin server on 127.0.0.1:\(adminPort)"))
    }
}

struct CLIFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Binds 127.0.0.1:0 and closes at once, leaving a port where nothing listens.
struct ServerSocketProbe {
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw CLIFailure("cannot bind a probe socket") }
        port = Int(UInt16(bigEndian: address.sin_port))
    }
}

