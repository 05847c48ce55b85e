import MeshConfig
import Testing

@testable import MeshRouting

/// What each cluster speaks upstream, as istiod's cluster builder decides it
/// (pilot/pkg/networking/core: setUpstreamProtocol, shouldH2Upgrade, applyConnectionPool).
@Suite struct UpstreamProtocolTests {
    /// Service `web` with one port (`portSpec`, a flow mapping) and v1/v2 pods, a
    /// DestinationRule `spec` below its host when one is given, and with `splitsSubsets` a
    /// VirtualService that sends half the requests to each subset (subset clusters exist for
    /// the routes that name them).
    func webSnapshot(port portSpec: String, rule: String? = nil, splitsSubsets: Bool = false) throws -> RoutingSnapshot {
        var documents = [
            """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec:
              selector: {app: web}
              ports: [\(portSpec)]
            """,
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web-v1, namespace: default}
            spec:
              template:
                metadata: {labels: {app: web, version: v1}}
            """,
            """
            apiVersion: apps/v1
            kind: Deployment
            metadata: {name: web-v2, namespace: default}
            spec:
              template:
                metadata: {labels: {app: web, version: v2}}
            """,
        ]
        if let rule {
            documents.append(
                """
                apiVersion: networking.istio.io/v1
                kind: DestinationRule
                metadata: {name: web, namespace: default}
                spec:
                  host: web
                \(rule)
                """)
        }
        if splitsSubsets {
            documents.append(
                """
                apiVersion: networking.istio.io/v1
                kind: VirtualService
                metadata: {name: web, namespace: default}
                spec:
                  hosts: [web]
                  http:
                  - route:
                    - {destination: {host: web, subset: v1}, weight: 50}
                    - {destination: {host: web, subset: v2}, weight: 50}
                """)
        }
        return try snapshot(documents.joined(separator: "\n---\n") + "\n")
    }

    func upstream(_ snapshot: RoutingSnapshot, subset: String? = nil, port: Int = 80) throws -> UpstreamProtocol {
        let name = Cluster.name(host: "web.default.svc.cluster.local", subset: subset, port: port)
        return try #require(snapshot.cluster(named: name), "no cluster \(name) in \(snapshot.clusters)").upstreamProtocol
    }

    @Test(arguments: [
        ("{name: http-web, port: 80}", UpstreamProtocol.http1),
        ("{name: http2-web, port: 80}", .http2),
        ("{name: grpc-web, port: 80}", .http2),
        ("{name: web, port: 80, appProtocol: kubernetes.io/h2c}", .http2),
        // Istio cannot tell the protocol: it sniffs, and the cluster uses the client's protocol.
        ("{name: web, port: 80}", .client),
        ("{port: 80}", .client),
    ])
    func portProtocolChoosesWithoutADestinationRule(port: String, expected: UpstreamProtocol) throws {
        #expect(try upstream(webSnapshot(port: port)) == expected)
    }

    @Test func h2UpgradePolicyUpgradesAnHTTP1PortOnly() throws {
        let upgrade = "  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: UPGRADE}}}"
        #expect(try upstream(webSnapshot(port: "{name: http-web, port: 80}", rule: upgrade)) == .http2)
        // istiod upgrades a cluster that has no protocol options yet: a sniffed port keeps the
        // client's protocol.
        #expect(try upstream(webSnapshot(port: "{name: web, port: 80}", rule: upgrade)) == .client)
        let keep = "  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: DO_NOT_UPGRADE}}}"
        #expect(try upstream(webSnapshot(port: "{name: http-web, port: 80}", rule: keep)) == .http1)
        // DO_NOT_UPGRADE does not downgrade: an HTTP2 port stays HTTP/2.
        #expect(try upstream(webSnapshot(port: "{name: grpc-web, port: 80}", rule: keep)) == .http2)
        let unset = "  trafficPolicy: {connectionPool: {http: {h2UpgradePolicy: DEFAULT}}}"
        #expect(try upstream(webSnapshot(port: "{name: http-web, port: 80}", rule: unset)) == .http1)
    }

    @Test func useClientProtocolWinsOverThePortProtocol() throws {
        let rule = "  trafficPolicy: {connectionPool: {http: {useClientProtocol: true}}}"
        #expect(try upstream(webSnapshot(port: "{name: grpc-web, port: 80}", rule: rule)) == .client)
        #expect(try upstream(webSnapshot(port: "{name: http-web, port: 80}", rule: rule)) == .client)
        let off = "  trafficPolicy: {connectionPool: {http: {useClientProtocol: false}}}"
        #expect(try upstream(webSnapshot(port: "{name: grpc-web, port: 80}", rule: off)) == .http2)
    }

    @Test func subsetAndPortLevelPoliciesApplyToTheirClusters() throws {
        let rule = """
              trafficPolicy:
                portLevelSettings:
                - port: {number: 80}
                  connectionPool: {http: {h2UpgradePolicy: UPGRADE}}
              subsets:
              - {name: v1, labels: {version: v1}}
              - name: v2
                labels: {version: v2}
                trafficPolicy: {connectionPool: {http: {useClientProtocol: true}}}
            """
        let snapshot = try webSnapshot(port: "{name: http-web, port: 80}", rule: rule, splitsSubsets: true)
        #expect(try upstream(snapshot, subset: "v1") == .http2)
        #expect(try upstream(snapshot, subset: "v2") == .client)
    }

    @Test func clientProtocolFollowsHowTheRequestArrived() {
        #expect(UpstreamProtocol.client.usesHTTP2(clientUsesHTTP2: true))
        #expect(!UpstreamProtocol.client.usesHTTP2(clientUsesHTTP2: false))
        #expect(UpstreamProtocol.http2.usesHTTP2(clientUsesHTTP2: false))
        #expect(!UpstreamProtocol.http1.usesHTTP2(clientUsesHTTP2: true))
        // istiod writes maxConcurrentStreams into explicit HTTP/2 options only.
        #expect(UpstreamProtocol.http2.appliesHTTP2Settings)
        #expect(!UpstreamProtocol.client.appliesHTTP2Settings)
    }
}
