import Foundation
import Testing

@testable import MeshConfig

/// The model decodes every field of the Istio API (so a valid Istio file never fails with
/// "unknown field"), and the decoder stays strict: a misspelling anywhere is still an error.
@Suite struct ModelCompletenessTests {
    typealias Fixtures = ModelCompletenessFixtures

    func loadCleanly(_ text: String, file: String) throws -> MeshResources {
        let result = ConfigLoader().load(text: text, file: file)
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics.map(\.description))")
        return result.resources
    }

    @Test func virtualServiceWithEveryFieldLoads() throws {
        let resources = try loadCleanly(Fixtures.everyVirtualServiceField, file: "vs.yaml")
        #expect(resources.virtualServices.map(\.name) == ["reviews", "ratings-routes"])
        let spec = try #require(resources.virtualServices.first?.spec)
        #expect(spec.gateways == ["mesh", "shop/edge"])
        #expect(spec.exportTo == [".", "istio-system"])
        let http = try #require(spec.http)
        #expect(http.count == 10)

        let match = try #require(http[0].match?.first)
        #expect(match.name == "m0")
        #expect(match.scheme?.prefix == "http")
        #expect(match.method?.regex == "GET|HEAD")
        #expect(match.headers?["x-trace"]?.regex == "[0-9a-f]+")
        #expect(match.queryParams?["lang"]?.prefix == "en")
        #expect(match.withoutHeaders?["x-old"]?.prefix == "v0")
        #expect(match.port == 9080)
        #expect(match.ignoreUriCase == true)
        #expect(match.sourceNamespace == "frontend")
        #expect(match.statPrefix == "reviews-api")

        let first = http[0]
        #expect(first.route?.map(\.weight) == [90, 10])
        #expect(first.route?.first?.headers?.response?.remove == ["server"])
        #expect(first.route?.first?.destination?.port?.number == 9080)
        #expect(first.rewrite?.authority == "reviews.internal")
        #expect(first.timeout?.milliseconds == 1500)
        #expect(first.retries?.backoff?.milliseconds == 25)
        #expect(first.retries?.retryIgnorePreviousHosts == false)
        #expect(first.retries?.retryRemoteLocalities == true)
        #expect(first.fault?.delay?.fixedDelay?.seconds == 2)
        #expect(first.fault?.abort?.httpStatus == 503)
        #expect(first.mirrorPercentage?.value == 12.5)
        #expect(first.corsPolicy?.allowOrigins?.last?.regex == #"https://.*\.example"#)
        #expect(first.corsPolicy?.maxAge?.seconds == 86_400)
        #expect(first.corsPolicy?.allowCredentials == true)
        #expect(first.headers?.request?.add == ["x-hop": "1"])

        #expect(http[1].redirect == HTTPRedirect(uri: "/new", authority: "new.example", port: 8080, scheme: "https", redirectCode: 308))
        #expect(http[2].redirect == HTTPRedirect(derivePort: .fromProtocolDefault, prefixRewrite: "/modern/"))
        #expect(http[3].redirect?.derivePort == .fromRequestPort)
        #expect(http[4].directResponse == HTTPDirectResponse(status: 200, body: HTTPBody(string: "ok")))
        #expect(http[5].directResponse?.body?.bytes == "aGVsbG8=")
        #expect(http[6].delegate == Delegate(name: "ratings-routes", namespace: "shop"))
        #expect(http[7].rewrite?.uriRegexRewrite == RegexRewrite(match: "^/r/([0-9]+)$", rewrite: #"/reviews/\1"#))
        #expect(http[7].fault?.delay?.exponentialDelay?.milliseconds == 100)
        #expect(http[7].fault?.abort?.grpcStatus == "UNAVAILABLE")
        #expect(http[7].mirrors?.first?.percentage?.value == 50)
        #expect(http[7].corsPolicy?.allowOrigin == ["https://old.example"])
        #expect(http[8].fault?.delay?.percent == 5)
        #expect(http[8].fault?.abort?.http2Error == "REFUSED_STREAM")
        #expect(http[8].mirrorPercent == 20)
        #expect(http[9].mirrorPercent == 30, "mirror_percent, the CRD's alternative name, sets mirrorPercent")
        #expect([http[0], http[7], http[8]].map(\.corsPolicy?.unmatchedPreflights) == [.forward, .ignore, .unspecified])

        let tls = try #require(spec.tls?.first?.match?.first)
        #expect(tls.sniHosts == ["reviews.shop.svc.cluster.local"])
        #expect(tls.destinationSubnets == ["10.0.0.0/16"])
        #expect(tls.sourceNamespace == "frontend")
        let tcp = try #require(spec.tcp?.first?.match?.first)
        #expect(tcp.sourceSubnet == "10.2.0.0/16")
        #expect(tcp.port == 27017)
        #expect(spec.tcp?.first?.route?.first?.weight == 100)
    }

    @Test func destinationRuleWithEveryFieldLoads() throws {
        let resources = try loadCleanly(Fixtures.everyDestinationRuleField, file: "dr.yaml")
        let spec = try #require(resources.destinationRules.first?.spec)
        #expect(spec.workloadSelector?.matchLabels == ["app": "productpage"])
        let policy = try #require(spec.trafficPolicy)

        #expect(policy.loadBalancer?.simple == .roundRobin)
        #expect(policy.loadBalancer?.localityLbSetting?.distribute?.first?.to?["us-west/zone2/*"] == 20)
        #expect(policy.loadBalancer?.warmupDurationSecs?.seconds == 60)
        #expect(policy.connectionPool?.tcp?.tcpKeepalive?.probes == 9)
        #expect(policy.connectionPool?.tcp?.maxConnectionDuration?.seconds == 3600)
        #expect(policy.connectionPool?.http?.http2KeepAlive?.timeout?.seconds == 2)
        #expect(policy.connectionPool?.http?.maxConcurrentStreams == 128)
        #expect(policy.connectionPool?.http?.h2UpgradePolicy == .default)
        #expect(policy.outlierDetection?.outlierDetectionHttpErrorCodes == [500, 503, 429])
        #expect(policy.outlierDetection?.consecutiveLocalOriginFailures == 4)
        #expect(policy.tls?.caCrl == "/etc/certs/crl.pem")
        #expect(policy.tls?.insecureSkipVerify == false)
        #expect(policy.tunnel?.targetPort == 9080)
        #expect(policy.proxyProtocol == nil)
        #expect(policy.retryBudget == TrafficPolicy.RetryBudget(percent: 20.5, minRetryConcurrency: 3, budgetInterval: IstioDuration(parsing: "5s")))

        let ports = try #require(policy.portLevelSettings)
        #expect(ports.map(\.port?.number) == [9080, 9081, 9082, 9083, 9084])
        #expect(ports.map(\.loadBalancer?.simple) == [.leastConn, .random, .passthrough, .unspecified, .leastRequest])
        #expect(ports[0].outlierDetection?.outlierDetectionHttpErrorCodes == [502])
        #expect(ports[0].tls?.privateKey == "/etc/certs/key.pem")
        #expect(ports[1].tls?.credentialName == "reviews-client-cert")
        #expect([ports[0].tls?.mode, ports[2].tls?.mode] == [.mutual, .disable])
        #expect([ports[0].connectionPool?.http?.h2UpgradePolicy, ports[3].connectionPool?.http?.h2UpgradePolicy] == [.doNotUpgrade, .upgrade])

        let subsets = try #require(spec.subsets)
        #expect(subsets.map(\.name) == ["v1", "v2", "v3", "v4"])
        let v1 = try #require(subsets[0].trafficPolicy?.loadBalancer)
        #expect(v1.consistentHash?.httpHeaderName == "x-user")
        #expect(v1.consistentHash?.ringHash?.minimumRingSize == 1024)
        #expect(v1.warmup?.aggression == 1.5)
        #expect(v1.warmup?.minimumPercent == 10)
        #expect(v1.zoneAwareLbSetting == ZoneAwareLoadBalancerSetting(
            enabled: true, failover: [.init(from: "us-east", to: "us-west")],
            failoverPriority: ["topology.istio.io/network"], minClusterSize: 6))
        #expect(subsets[0].trafficPolicy?.tls?.mode == .istioMutual)
        #expect(subsets[0].trafficPolicy?.proxyProtocol?.version == .v2)
        let cookie = try #require(subsets[1].trafficPolicy?.loadBalancer?.consistentHash?.httpCookie)
        #expect(cookie.ttl?.nanoseconds == 0)
        #expect(cookie.attributes?.map(\.name) == ["SameSite", "Secure"])
        #expect(cookie.attributes?.map(\.value) == ["Strict", nil])
        #expect(subsets[1].trafficPolicy?.loadBalancer?.consistentHash?.maglev?.tableSize == 65537)
        #expect(subsets[1].trafficPolicy?.proxyProtocol?.version == .v1)
        let utilization = try #require(subsets[1].trafficPolicy?.portLevelSettings?.first?.loadBalancer?.backendUtilization)
        #expect(utilization.weightExpirationPeriod?.seconds == 180)
        #expect(utilization.errorUtilizationPenaltyPercent == 120)
        #expect(utilization.metricNamesForComputingUtilization == ["named_metrics.cpu_utilization"])
        let v3 = try #require(subsets[2].trafficPolicy)
        #expect(v3.loadBalancer?.consistentHash?.useSourceIp == true)
        #expect(v3.loadBalancer?.consistentHash?.minimumRingSize == 2048)
        #expect(v3.loadBalancer?.localityLbSetting?.failoverPriority == ["topology.istio.io/network"])
        #expect(v3.outlierDetection?.consecutiveErrors == 7)
        #expect(subsets[3].trafficPolicy?.loadBalancer?.consistentHash?.httpQueryParameterName == "user")
    }

    @Test func serviceEntryWithEveryFieldLoads() throws {
        let resources = try loadCleanly(Fixtures.everyServiceEntryField, file: "se.yaml")
        let entries = resources.serviceEntries.map(\.spec)
        #expect(entries.map(\.resolution) == [.static, .static, .dns, .dnsRoundRobin, .dynamicDNS, ServiceEntrySpec.Resolution.none])
        #expect(entries.map(\.location) == [.meshInternal, .meshInternal, .meshExternal, nil, nil, nil])
        let first = try #require(entries.first)
        #expect(first.ports == [ServicePort(number: 443, protocol: "HTTPS", name: "https", targetPort: 8443)])
        #expect(first.endpoints == [WorkloadEntrySpec(
            address: "10.0.0.12", ports: ["https": 9443], labels: ["version": "v1"], network: "net-1",
            locality: "us-west/zone1/subzone1", weight: 3, serviceAccount: "payments")])
        #expect(first.subjectAltNames == ["spiffe://cluster.local/ns/shop/sa/payments"])
        #expect(entries[1].workloadSelector?.labels == ["app": "ledger"])
        #expect(entries[5].addresses == ["192.168.10.0/24"])
    }

    @Test func workloadEntryWithEveryFieldLoads() throws {
        let resources = try loadCleanly(Fixtures.everyWorkloadEntryField, file: "we.yaml")
        #expect(resources.workloadEntries.map(\.spec) == [WorkloadEntrySpec(
            address: "10.0.3.7", ports: ["http": 8080, "grpc": 9090], labels: ["app": "ledger", "version": "v1"],
            network: "vm-network", locality: "us-east/zone2/rack4", weight: 5, serviceAccount: "ledger")])
    }

    static let apiVersions = ["networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"]

    /// The three served versions share one schema, so every fixture decodes the same under each.
    @Test(arguments: apiVersions)
    func everyFieldLoadsUnderEachServedVersion(_ apiVersion: String) throws {
        let all = [Fixtures.everyVirtualServiceField, Fixtures.everyDestinationRuleField, Fixtures.everyServiceEntryField, Fixtures.everyWorkloadEntryField]
            .joined(separator: "\n---\n")
        let rewritten = all.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("apiVersion: networking.istio.io/") ? "apiVersion: \(apiVersion)" : String($0) }
            .joined(separator: "\n")
        let resources = try loadCleanly(rewritten, file: "all.yaml")
        let reference = try loadCleanly(all, file: "all.yaml")
        #expect(resources.virtualServices.allSatisfy { $0.apiVersion == apiVersion })
        #expect(resources.virtualServices.map(\.spec) == reference.virtualServices.map(\.spec))
        #expect(resources.destinationRules.map(\.spec) == reference.destinationRules.map(\.spec))
        #expect(resources.serviceEntries.map(\.spec) == reference.serviceEntries.map(\.spec))
        #expect(resources.workloadEntries.map(\.spec) == reference.workloadEntries.map(\.spec))
    }

    @Test func camelCaseMirrorPercentWinsOverItsAlternativeName() throws {
        // Istio's jsonpb decoder reads the proto name first and the JSON name after it.
        let resources = try loadCleanly("""
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: both}
            spec:
              hosts: [reviews]
              http:
              - route: [{destination: {host: reviews}}]
                mirror: {host: shadow}
                mirror_percent: 70
                mirrorPercent: 40
            """, file: "vs.yaml")
        #expect(resources.virtualServices.first?.spec.http?.first?.mirrorPercent == 40)
    }

    /// A field misspelled deep inside a full document: the fixture text to change, what to change
    /// it to, and the path Istio would print for the bad field.
    struct Misspelling: Sendable, CustomTestStringConvertible {
        var fixture: String
        var original: String
        var replacement: String
        var kind: String
        var path: String
        var testDescription: String { path }
    }

    static let misspellings: [Misspelling] = [
        .init(fixture: Fixtures.everyVirtualServiceField, original: "statPrefix: reviews-api", replacement: "statPrefx: reviews-api",
              kind: "VirtualService shop/reviews", path: "http[0].match[0].statPrefx"),
        .init(fixture: Fixtures.everyVirtualServiceField, original: "x-old: {prefix: v0}", replacement: "x-old: {prefx: v0}",
              kind: "VirtualService shop/reviews", path: "http[0].match[0].withoutHeaders.x-old.prefx"),
        .init(fixture: Fixtures.everyVirtualServiceField, original: "remove: [server]", replacement: "removes: [server]",
              kind: "VirtualService shop/reviews", path: "http[0].route[0].headers.response.removes"),
        .init(fixture: Fixtures.everyVirtualServiceField, original: "percentage: {value: 50}", replacement: "percentage: {valeu: 50}",
              kind: "VirtualService shop/reviews", path: "http[7].mirrors[0].percentage.valeu"),
        // Only mirrorPercent has a second spelling in Istio's CRD; other snake_case names stay unknown.
        .init(fixture: Fixtures.everyVirtualServiceField, original: "mirror_percent: 30", replacement: "mirror_percentage: 30",
              kind: "VirtualService shop/reviews", path: "http[9].mirror_percentage"),
        .init(fixture: Fixtures.everyVirtualServiceField, original: "sourceSubnet: 10.2.0.0/16", replacement: "sourceSubnets: 10.2.0.0/16",
              kind: "VirtualService shop/reviews", path: "tcp[0].match[0].sourceSubnets"),
        .init(fixture: Fixtures.everyDestinationRuleField, original: "{name: Secure}", replacement: "{name: Secure, vaule: x}",
              kind: "DestinationRule shop/reviews", path: "subsets[1].trafficPolicy.loadBalancer.consistentHash.httpCookie.attributes[1].vaule"),
        .init(fixture: Fixtures.everyDestinationRuleField, original: "outlierDetectionHttpErrorCodes: [502]", replacement: "outlierDetectionHTTPErrorCodes: [502]",
              kind: "DestinationRule shop/reviews", path: "trafficPolicy.portLevelSettings[0].outlierDetection.outlierDetectionHTTPErrorCodes"),
        .init(fixture: Fixtures.everyDestinationRuleField, original: "budgetInterval: 5s", replacement: "budget_interval: 5s",
              kind: "DestinationRule shop/reviews", path: "trafficPolicy.retryBudget.budget_interval"),
        .init(fixture: Fixtures.everyDestinationRuleField, original: "minClusterSize: 6", replacement: "minClusterSise: 6",
              kind: "DestinationRule shop/reviews", path: "subsets[0].trafficPolicy.loadBalancer.zoneAwareLbSetting.minClusterSise"),
        .init(fixture: Fixtures.everyServiceEntryField, original: "serviceAccount: payments", replacement: "serviceaccount: payments",
              kind: "ServiceEntry shop/static-endpoints", path: "endpoints[0].serviceaccount"),
        .init(fixture: Fixtures.everyWorkloadEntryField, original: "weight: 5", replacement: "wieght: 5",
              kind: "WorkloadEntry shop/vm-1", path: "wieght"),
    ]

    @Test(arguments: misspellings)
    func misspelledFieldDeepInsideIsRejectedWithItsPathAndLine(_ misspelling: Misspelling) throws {
        let lines = misspelling.fixture.split(separator: "\n", omittingEmptySubsequences: false)
        let matching = lines.indices.filter { lines[$0].contains(misspelling.original) }
        let index = try #require(matching.count == 1 ? matching.first : nil, "\(misspelling.original) must occur once")
        let text = misspelling.fixture.replacingOccurrences(of: misspelling.original, with: misspelling.replacement)

        let result = ConfigLoader().load(text: text, file: "bad.yaml")
        let badKey = misspelling.path.split(separator: ".").last ?? ""
        #expect(result.diagnostics.map(\.description) == [
            "bad.yaml:\(index + 1): error: \(misspelling.kind): \(misspelling.path): unknown field \"\(badKey)\""
        ])
    }
}
