import Foundation
import MeshProxy
import Testing

/// Every admin endpoint answers what it documents; unknown paths are 404, wrong methods 405.
@Suite struct AdminEndpointTests {
    static let yaml = TestMesh.service("shop", versions: ["v1": [:], "v2": [:]]) + """
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: {name: shop, namespace: default}
        spec:
          host: shop
          trafficPolicy: {connectionPool: {tcp: {maxConnections: 7}}}
          subsets:
          - {name: v1, labels: {version: v1}}
          - {name: v2, labels: {version: v2}}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: shop, namespace: default}
        spec:
          hosts: [shop]
          http:
          - name: beta
            match: [{headers: {x-group: {exact: beta}}}]
            route: [{destination: {host: shop, subset: v2}}]
          - name: split
            route:
            - {destination: {host: shop, subset: v1}, weight: 90}
            - {destination: {host: shop, subset: v2}, weight: 10}
        """

    static func json(_ response: MeshResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(response.body.utf8))
        return try #require(object as? [String: Any], "not a JSON object: \(response.body)")
    }

    @Test func readyIndexUnknownPathAndWrongMethod() async throws {
        try await AdminHarness.with(yaml: Self.yaml) { harness in
            let ready = try await harness.get("/ready")
            #expect(ready.status == 200)
            #expect(ready.body == "LIVE\n")
            let index = try await harness.get("/")
            #expect(index.status == 200)
            for path in ["/stats/prometheus", "/config_dump", "/clusters", "/config/rollback"] {
                #expect(index.body.contains(path))
            }
            #expect(try await harness.get("/nope").status == 404)
            #expect(try await harness.get("/stats/prometheus/extra").status == 404)
            let wrongMethod = try await harness.post("/ready")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers.first(name: "allow") == "GET, HEAD")
            #expect(try await harness.get("/config").status == 405)
        }
    }

    @Test func configDumpShowsRevisionSourcesRoutesClustersAndStatus() async throws {
        try await AdminHarness.with(yaml: Self.yaml) { harness in
            let response = try await harness.get("/config_dump")
            #expect(response.status == 200)
            #expect(response.headers.first(name: "content-type") == "application/json")
            let dump = try Self.json(response)
            #expect(dump["revision"] as? Int == 0)
            #expect(dump["origin"] as? String == "files")
            let sources = try #require(dump["sources"] as? [[String: Any]])
            #expect(sources.first?["name"] as? String == "test.yaml")
            #expect((sources.first?["content"] as? String)?.contains("kind: VirtualService") == true)

            let hosts = try #require(dump["virtual_hosts"] as? [[String: Any]])
            let shop = try #require(hosts.first { $0["name"] as? String == "shop.default.svc.cluster.local:9080" })
            #expect(shop["virtual_service"] as? String == "default/shop")
            #expect((shop["domains"] as? [String])?.contains("shop") == true)
            let routes = try #require(shop["routes"] as? [[String: Any]])
            #expect(routes.map { $0["name"] as? String } == ["default/shop/beta", "default/shop/split"])
            #expect((routes[0]["matches"] as? [String])?.first?.contains("x-group") == true)
            let split = try #require(routes[1]["clusters"] as? [[String: Any]])
            #expect(split.map { $0["weight"] as? Int } == [90, 10])
            #expect(split.first?["cluster"] as? String == "outbound|9080|v1|shop.default.svc.cluster.local")

            let clusters = try #require(dump["clusters"] as? [[String: Any]])
            let v2 = try #require(clusters.first { $0["name"] as? String == "outbound|9080|v2|shop.default.svc.cluster.local" })
            #expect(v2["subset"] as? String == "v2")
            #expect(v2["state"] as? String == "ready")
            #expect(v2["load_balancer"] as? String == "LEAST_REQUEST")
            let endpoints = try #require(v2["endpoints"] as? [[String: Any]])
            #expect(endpoints.count == 1)
            #expect(endpoints.first?["workload"] as? String == "shop-v2-0")
            #expect((endpoints.first?["labels"] as? [String: String])?["version"] == "v2")
            let address = try #require(endpoints.first?["address"] as? String)
            #expect(harness.mesh.fleet.addresses["default/shop-v2-0"].map { "\($0.host):\($0.port)" } == address)

            let status = try #require(dump["status"] as? [String: Any])
            #expect(status["state"] as? String == "ACCEPTED")
            #expect((status["errors"] as? [Any])?.isEmpty == true)
        }
    }

    @Test func clustersListsEndpointsWithLabelsHealthAndCounters() async throws {
        try await AdminHarness.with(yaml: Self.yaml) { harness in
            for _ in 0..<3 { _ = try await harness.mesh.send(host: "shop", headers: [("x-group", "beta")]) }
            let v2 = "outbound|9080|v2|shop.default.svc.cluster.local"
            let pod = try #require(harness.mesh.fleet.addresses["default/shop-v2-0"])
            let prefix = "\(v2)::\(pod.host):\(pod.port)::"

            let text = try await harness.get("/clusters")
            #expect(text.status == 200)
            let lines = Set(text.body.split(separator: "\n").map(String.init))
            for expected in [
                "\(v2)::default_priority::max_connections::7", "\(v2)::default_priority::max_pending_requests::4294967295",
                prefix + "hostname::shop-v2-0", prefix + "labels::app=shop,version=v2", prefix + "health_flags::healthy",
                prefix + "rq_total::3", prefix + "rq_success::3", prefix + "rq_error::0", prefix + "rq_active::0", prefix + "cx_active::1",
            ] {
                #expect(lines.contains(expected), "missing \(expected)")
            }

            let json = try Self.json(try await harness.get("/clusters?format=json"))
            let statuses = try #require(json["cluster_statuses"] as? [[String: Any]])
            let cluster = try #require(statuses.first { $0["name"] as? String == v2 })
            #expect((cluster["circuit_breakers"] as? [String: Any])?["max_connections"] as? Int == 7)
            let host = try #require((cluster["host_statuses"] as? [[String: Any]])?.first)
            #expect(host["address"] as? String == "\(pod.host):\(pod.port)")
            #expect((host["stats"] as? [String: Any])?["rq_total"] as? Int == 3)
        }
    }

    @Test func revisionsListEveryKeptRevision() async throws {
        try await AdminHarness.with(yaml: Self.yaml, historyLimit: 3) { harness in
            for weight in [80, 70, 60] {
                let yaml = Self.yaml.replacingOccurrences(of: "weight: 90", with: "weight: \(weight)")
                let result = try await harness.post("/config?name=step-\(weight).yaml", body: yaml)
                #expect(result.status == 200, "\(result.body)")
            }
            let list = try Self.json(try await harness.get("/config/revisions"))
            #expect(list["current"] as? Int == 3)
            let revisions = try #require(list["revisions"] as? [[String: Any]])
            // Three kept: revision 0 fell out.
            #expect(revisions.map { $0["revision"] as? Int } == [1, 2, 3])
            #expect(revisions.map { $0["current"] as? Bool } == [false, false, true])
            #expect(revisions.allSatisfy { $0["origin"] as? String == "api" })
            #expect((revisions.last?["sources"] as? [String])?.contains("step-60.yaml") == true)
        }
    }
}
