import Foundation
import MeshConfig
import MeshProxy
import NIOCore
import Testing

/// A mesh under a `ConfigController` with its admin server on 127.0.0.1:0, always stopped.
struct AdminHarness {
    let controller: ConfigController
    let admin: AdminServer
    var mesh: LocalMesh { controller.mesh }
    var client: AdminClient { AdminClient(host: "127.0.0.1", port: admin.port) }

    static func with<T>(
        yaml: String, configuration: ProxyConfiguration = TestMesh.configuration(), historyLimit: Int = 20,
        _ body: (AdminHarness) async throws -> T
    ) async throws -> T {
        let resources = try TestMesh.resources(yaml)
        let mesh = try await LocalMesh.start(resources: resources, proxy: configuration)
        let controller = ConfigController(
            mesh: mesh, resources: resources, sources: [ConfigSource(name: "test.yaml", content: yaml)], historyLimit: historyLimit)
        return try await run(controller, body)
    }

    /// The mesh `meshsim serve -f FILES --admin` runs: files read, checked and started by the
    /// same `ConfigController.start`.
    static func with<T>(
        files: [String], configuration: ProxyConfiguration = TestMesh.configuration(), _ body: (AdminHarness) async throws -> T
    ) async throws -> T {
        let controller = try await ConfigController.start(paths: files, proxy: configuration)
        return try await run(controller, body)
    }

    private static func run<T>(_ controller: ConfigController, _ body: (AdminHarness) async throws -> T) async throws -> T {
        let mesh = controller.mesh
        let admin: AdminServer
        do {
            admin = try await AdminServer.start(controller: controller, host: "127.0.0.1", port: 0)
        } catch {
            try? await mesh.stop()
            throw error
        }
        let harness = AdminHarness(controller: controller, admin: admin)
        do {
            let result = try await body(harness)
            try await admin.shutdown()
            try await mesh.stop()
            return result
        } catch {
            try? await admin.shutdown()
            try? await mesh.stop()
            throw error
        }
    }

    func get(_ path: String) async throws -> MeshResponse {
        try await client.send(method: "GET", path: path)
    }

    func post(_ path: String, body: String? = nil, contentType: String? = nil) async throws -> MeshResponse {
        try await client.send(method: "POST", path: path, body: body, contentType: contentType)
    }

    func metrics() async throws -> PrometheusText {
        let response = try await get("/stats/prometheus")
        #expect(response.status == 200)
        return try PrometheusText(response.body)
    }

    /// The `x-meshsim-version` of `count` requests to `host`, counted.
    func versions(host: String, count: Int, headers: [(String, String)] = []) async throws -> [String: Int] {
        var seen: [String: Int] = [:]
        for _ in 0..<count {
            let response = try await mesh.send(host: host, headers: headers)
            seen[response.headers.first(name: "x-meshsim-version") ?? "status \(response.status)", default: 0] += 1
        }
        return seen
    }
}

/// Prometheus' text exposition format, parsed strictly enough to catch a malformed line.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        var line: String
        var description: String { "not a Prometheus sample: \(line)" }
    }

    var samples: [Sample] = []
    /// `# TYPE` of each family.
    var types: [String: String] = [:]

    init(_ text: String) throws {
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            samples.append(try Self.sample(String(line)))
        }
    }

    /// Samples of `name` whose labels include every pair of `matching`.
    func samples(_ name: String, _ matching: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    func sum(_ name: String, _ matching: [String: String] = [:]) -> Double {
        samples(name, matching).reduce(0) { $0 + $1.value }
    }

    private static func sample(_ line: String) throws -> Sample {
        var labels: [String: String] = [:]
        let name: String
        var rest: Substring
        if let brace = line.firstIndex(of: "{") {
            name = String(line[..<brace])
            var index = line.index(after: brace)
            // name="value" pairs, values with \\ \" \n escapes.
            while index < line.endIndex, line[index] != "}" {
                guard let equals = line[index...].firstIndex(of: "="), line.index(after: equals) < line.endIndex,
                      line[line.index(after: equals)] == "\"" else { throw ParseError(line: line) }
                let key = String(line[index..<equals])
                var value = ""
                var cursor = line.index(equals, offsetBy: 2)
                var closed = false
                while cursor < line.endIndex {
                    let character = line[cursor]
                    if character == "\\" {
                        cursor = line.index(after: cursor)
                        guard cursor < line.endIndex else { throw ParseError(line: line) }
                        value.append(line[cursor] == "n" ? "\n" : line[cursor])
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                    cursor = line.index(after: cursor)
                }
                guard closed else { throw ParseError(line: line) }
                labels[key] = value
                index = line.index(after: cursor)
                if index < line.endIndex, line[index] == "," { index = line.index(after: index) }
            }
            guard index < line.endIndex else { throw ParseError(line: line) }
            rest = line[line.index(after: index)...]
        } else {
            guard let space = line.firstIndex(of: " ") else { throw ParseError(line: line) }
            name = String(line[..<space])
            rest = line[space...]
        }
        rest = rest.drop { $0 == " " }
        guard let value = Double(rest) ?? (rest == "+Inf" ? .infinity : nil) else { throw ParseError(line: line) }
        return Sample(name: name, labels: labels, value: value)
    }
}
