import Foundation
import MeshProxy
import Testing

/// `POST /config` (kubectl apply) and `POST /config/rollback`, seen in how traffic is routed.
@Suite struct AdminConfigTests {
    static let workloads = TestMesh.service("cart", versions: ["v1": [:], "v2": [:]]) + """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: cart, namespace: default}
        spec:
          host: cart
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        ---

        """

    static func split(_ v1: Int, _ v2: Int) -> String {
        """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: cart, namespace: default}
        spec:
          hosts: [cart]
          http:
          - name: split
            route:
            - {destination: {host: cart, subset: v1}, weight: \(v1)}
            - {destination: {host: cart, subset: v2}, weight: \(v2)}
        """
    }

    static func result(_ response: MeshResponse) throws -> ConfigChangeResult {
        try ConfigChangeResult.decode(from: Data(response.body.utf8))
    }

    @Test func validYAMLIsMergedAppliedAndRoutes() async throws {
        try await AdminHarness.with(yaml: Self.workloads + Self.split(90, 10)) { harness in
            #expect(try await harness.versions(host: "cart", count: 10) == ["v1": 9, "v2": 1])
            // Only the VirtualService is posted: the Deployments, Service and DestinationRule stay.
            let response = try await harness.post("/config?name=vs.yaml", body: Self.split(50, 50))
            #expect(response.status == 200)
            let result = try Self.result(response)
            #expect(result.result == .applied)
            #expect(result.revision == 1)
            #expect(harness.mesh.snapshot.revision == 1)
            #expect(try await harness.versions(host: "cart", count: 10) == ["v1": 5, "v2": 5])
            #expect(harness.mesh.fleet.addresses.count == 2)
            // The same again changes nothing.
            let again = try Self.result(try await harness.post("/config?name=vs.yaml", body: Self.split(50, 50)))
            #expect(again.result == .unchanged)
            #expect(again.revision == 1)
        }
    }

    @Test func invalidYAMLIsRejectedWithFileAndLineAndRoutingStays() async throws {
        try await AdminHarness.with(yaml: Self.workloads + Self.split(90, 10)) { harness in
            // Weight -10 fails Istio's validation on line 9 of the posted file.
            let response = try await harness.post("/config?name=bad-split.yaml", body: Self.split(100, -10))
            #expect(response.status == 400)
            let result = try Self.result(response)
            #expect(result.result == .rejected)
            #expect(result.revision == 0)
            #expect(result.errors.contains { $0.file == "bad-split.yaml" && $0.line == 10 && $0.message.contains("weight") })
            #expect(result.errors.allSatisfy { $0.text.hasPrefix("bad-split.yaml:") })
            // Routing is still 90/10, and the dump says why the change was refused.
            #expect(harness.mesh.snapshot.revision == 0)
            #expect(try await harness.versions(host: "cart", count: 10) == ["v1": 9, "v2": 1])
            let dump = try JSONSerialization.jsonObject(with: Data(try await harness.get("/config_dump").body.utf8)) as? [String: Any]
            let status = try #require(dump?["status"] as? [String: Any])
            #expect(status["state"] as? String == "REJECTED")
            #expect(status["revision"] as? Int == 0)
            let errors = try #require(status["errors"] as? [[String: Any]])
            #expect(errors.contains { ($0["text"] as? String)?.hasPrefix("bad-split.yaml:10: error:") == true })
        }
    }

    @Test func undecodableAndEmptyBodiesAreRejected() async throws {
        try await AdminHarness.with(yaml: Self.workloads + Self.split(90, 10)) { harness in
            let syntax = try await harness.post("/config?name=broken.yaml", body: "apiVersion: v1\nkind: [unclosed\n")
            #expect(syntax.status == 400)
            #expect(try Self.result(syntax).errors.first?.file == "broken.yaml")
            let empty = try await harness.post("/config", body: nil)
            #expect(empty.status == 400)
            #expect(try Self.result(empty).errors.first?.message.contains("no body") == true)
            #expect(harness.mesh.snapshot.revision == 0)
        }
    }

    @Test func jsonUploadKeepsEachFilesNameForErrors() async throws {
        try await AdminHarness.with(yaml: Self.workloads + Self.split(90, 10)) { harness in
            let upload = ConfigUpload(files: [
                .init(name: "good.yaml", content: Self.split(20, 80)),
                .init(name: "bad.yaml", content: Self.split(20, 80).replacingOccurrences(of: "name: cart,", with: "name: other,")
                    .replacingOccurrences(of: "weight: 80", with: "weight: -80")),
            ])
            let body = String(decoding: try JSONEncoder().encode(upload), as: UTF8.self)
            let rejected = try Self.result(try await harness.post("/config", body: body, contentType: "application/json"))
            #expect(rejected.result == .rejected)
            #expect(rejected.errors.map(\.file) == ["bad.yaml"])
            #expect(try await harness.versions(host: "cart", count: 10) == ["v1": 9, "v2": 1])

            let good = ConfigUpload(files: [.init(name: "good.yaml", content: Self.split(20, 80))])
            let applied = try Self.result(
                try await harness.post("/config", body: String(decoding: try JSONEncoder().encode(good), as: UTF8.self), contentType: "application/json"))
            #expect(applied.result == .applied)
            #expect(try await harness.versions(host: "cart", count: 10) == ["v1": 2, "v2": 8])
        }
    }

    @Test func rollbackGoesToThePreviousOrANamedRevision() async throws {
        try await AdminHarness.with(yaml: Self.workloads + Self.split(90, 10)) { harness in
            #expect(try Self.result(try await harness.post("/config", body: Self.split(50, 50))).revision == 1)
            #expect(try Self.result(try await harness.post("/config", body: Self.split(0, 100))).revision == 2)
            #expect(try await harness.versions(host: "cart", count: 10) == ["v2": 10])

            // Back to the previous (revision 1, 50/50), as a new revision 3.
            let back = try Self.result(try await harness.post("/config/rollback"))
            #expect(back.result == .applied)
            #expect(back.revision == 3)
            #expect(try await harness.versions(host: "cart", count: 10) == ["v1": 5, "v2": 5])

            // To a named one: revision 0 (90/10).
            let named = try Self.result(try await harness.post("/config/rollback?revision=0"))
            #expect(named.revision == 4)
            #expect(try await harness.versions(host: "cart", count: 10) == ["v1": 9, "v2": 1])
            let current = await harness.controller.current
            #expect(current.origin == .rollback(to: 0))

            // A revision that is not kept, and a bad number: 400, nothing changes.
            let missing = try await harness.post("/config/rollback?revision=99")
            #expect(missing.status == 400)
            #expect(try Self.result(missing).errors.first?.message.contains("revision 99 is not kept") == true)
            #expect(try await harness.post("/config/rollback?revision=abc").status == 400)
            #expect(harness.mesh.snapshot.revision == 4)
        }
    }
}
