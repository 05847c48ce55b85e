import Testing

@testable import MeshConfig

private let subsets = "subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]"
private let goodPolicy = "{loadBalancer: {simple: ROUND_ROBIN}, connectionPool: {tcp: {maxConnections: 7}, http: {http2MaxRequests: 11}}, outlierDetection: {minHealthPercent: 20}}"
private let emptyPoolPolicy = "{loadBalancer: {simple: ROUND_ROBIN}, connectionPool: {}, outlierDetection: {minHealthPercent: 20}}"

private func tls(_ fields: String) -> String { "{host: reviews, trafficPolicy: {tls: {\(fields)}}}" }

// Ported from Istio pkg/config/validation/validation_test.go: TestValidateDestinationRule (all
// cases; errors and warnings both checked).
let istioDestinationRuleCases: [RuleCase] = [
    RuleCase("simple destination rule", "{host: reviews, \(subsets)}", valid: true, warning: false),
    RuleCase("simple destination rule with empty selector labels", "{host: reviews, \(subsets), workloadSelector: {}}", valid: true, warning: true),
    RuleCase("missing destination name", "{host: '', \(subsets)}", valid: false, warning: false),
    RuleCase("missing subset name", "{host: reviews, subsets: [{name: '', labels: {version: v1}}, {name: v2, labels: {version: v2}}]}", valid: false, warning: false),
    RuleCase("duplicate subset names", "{host: reviews, subsets: [{name: foo, labels: {version: v1}}, {name: foo, labels: {version: v2}}]}", valid: false, warning: false),
    RuleCase("valid traffic policy, top level", "{host: reviews, trafficPolicy: \(goodPolicy), \(subsets)}", valid: true, warning: false),
    RuleCase("invalid traffic policy, top level", "{host: reviews, trafficPolicy: \(emptyPoolPolicy), \(subsets)}", valid: false, warning: false),
    RuleCase("valid traffic policy, subset level", "{host: reviews, subsets: [{name: v1, labels: {version: v1}, trafficPolicy: \(goodPolicy)}, {name: v2, labels: {version: v2}}]}", valid: true, warning: false),
    RuleCase("invalid traffic policy, subset level", "{host: reviews, subsets: [{name: v1, labels: {version: v1}, trafficPolicy: \(emptyPoolPolicy)}, {name: v2, labels: {version: v2}}]}", valid: false, warning: false),
    RuleCase("valid traffic policy, both levels", "{host: reviews, trafficPolicy: \(goodPolicy), subsets: [{name: v1, labels: {version: v1}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}, connectionPool: {tcp: {maxConnections: 7}, http: {http2MaxRequests: 11}}, outlierDetection: {minHealthPercent: 30}}}, {name: v2, labels: {version: v2}}]}", valid: true, warning: false),
    RuleCase("InsecureSkipVerify is not specified with tls mode simple, and the ca cert is specified by CaCertificates", tls("mode: SIMPLE, caCertificates: test, subjectAltNames: [reviews.default.svc]"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is not specified with tls mode simple, and the ca cert is specified by CredentialName", tls("mode: SIMPLE, credentialName: test, subjectAltNames: [reviews.default.svc]"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set false with tls mode simple, and the ca cert is specified by CaCertificates", tls("mode: SIMPLE, caCertificates: test, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set false with tls mode simple, and the ca cert is specified by CredentialName", tls("mode: SIMPLE, credentialName: test, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set true with tls mode simple, and the ca cert is specified by CaCertificates", tls("mode: SIMPLE, credentialName: test, insecureSkipVerify: true"), valid: false, warning: false),
    RuleCase("InsecureSkipVerify is set true with tls mode simple, and the ca cert is specified by CredentialName", tls("mode: SIMPLE, caCertificates: test, insecureSkipVerify: true"), valid: false, warning: false),
    RuleCase("InsecureSkipVerify is set true with tls mode simple, and the san is specified", tls("mode: SIMPLE, subjectAltNames: [reviews.default.svc], insecureSkipVerify: true"), valid: false, warning: false),
    RuleCase("InsecureSkipVerify is not specified with tls mode mutual, and the ca cert is specified by CaCertificates", tls("mode: MUTUAL, caCertificates: test, privateKey: key, clientCertificate: cert, subjectAltNames: [reviews.default.svc]"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is not specified with tls mode mutual, and the ca cert is specified by CredentialName", tls("mode: MUTUAL, credentialName: test, subjectAltNames: [reviews.default.svc]"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set false with tls mode mutual, and the ca cert is specified by CaCertificates", tls("mode: MUTUAL, caCertificates: test, privateKey: key, clientCertificate: cert, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set false with tls mode mutual, and the ca cert is specified by CredentialName", tls("mode: MUTUAL, credentialName: test, subjectAltNames: [reviews.default.svc], insecureSkipVerify: false"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set true with tls mode mutual, and the ca cert is specified by CaCertificates", tls("mode: MUTUAL, caCertificates: test, privateKey: key, clientCertificate: cert, insecureSkipVerify: true"), valid: false, warning: false),
    RuleCase("InsecureSkipVerify is set true with tls mode mutual, and the ca cert is specified by CredentialName", tls("mode: MUTUAL, credentialName: test, insecureSkipVerify: true"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set true with tls mode mutual, and the ca cert is not specified", tls("mode: MUTUAL, privateKey: key, clientCertificate: cert, insecureSkipVerify: true"), valid: true, warning: false),
    RuleCase("InsecureSkipVerify is set true with tls mode mutual, and the san is specified", tls("mode: MUTUAL, privateKey: key, clientCertificate: cert, subjectAltNames: [reviews.default.svc], insecureSkipVerify: true"), valid: false, warning: false),
]

@Suite struct ValidationDestinationRuleTests {
    @Test(arguments: istioDestinationRuleCases)
    func destinationRule(_ testCase: RuleCase) throws {
        let dr = try Fixture.destinationRule(spec: testCase.yaml)
        expectVerdict(Validator().validate(dr), testCase)
    }

    // Ported from TestValidateTrafficPolicy (all cases).
    @Test(arguments: [
        RuleCase("valid traffic policy", goodPolicy, valid: true),
        RuleCase("invalid traffic policy, nil entries", "{}", valid: false),
        RuleCase("invalid traffic policy, missing port in port level settings", "{portLevelSettings: [\(goodPolicy)]}", valid: false),
        RuleCase("invalid traffic policy, bad connection pool", emptyPoolPolicy, valid: false),
        RuleCase("invalid traffic policy, bad max connection duration", "{loadBalancer: {simple: ROUND_ROBIN}, connectionPool: {tcp: {maxConnectionDuration: 500ns}}}", valid: false),
        RuleCase("invalid traffic policy, panic threshold too low", "{loadBalancer: {simple: ROUND_ROBIN}, connectionPool: {tcp: {maxConnections: 7}, http: {http2MaxRequests: 11}}, outlierDetection: {minHealthPercent: -1}}", valid: false),
        RuleCase("invalid traffic policy, both upgrade and use client protocol set", "{connectionPool: {http: {h2UpgradePolicy: UPGRADE, useClientProtocol: true}}}", valid: false),
        RuleCase("tunnel and proxy protocol", "{tunnel: {targetHost: a.b, targetPort: 8443}, proxyProtocol: {version: V1}}", valid: false),
        RuleCase("valid tunnel", "{tunnel: {protocol: CONNECT, targetHost: a.b, targetPort: 8443}}", valid: true),
        RuleCase("tunnel with bad protocol, host and port", "{tunnel: {protocol: GET, targetHost: 'bad host', targetPort: 0}}", valid: false),
        RuleCase("retry budget alone", "{retryBudget: {percent: 20, minRetryConcurrency: 3}}", valid: true),
        RuleCase("retry budget over 100%", "{retryBudget: {percent: 120}}", valid: false),
        RuleCase("port level settings with no field", "{portLevelSettings: [{port: {number: 80}}]}", valid: false),
        RuleCase("port level settings with a port", "{portLevelSettings: [{port: {number: 80}, loadBalancer: {simple: LEAST_REQUEST}}]}", valid: true),
    ])
    func trafficPolicy(_ testCase: RuleCase) throws {
        let policy = try Fixture.trafficPolicy(testCase.yaml)
        expectVerdict(Fixture.findings { TrafficPolicyRules.validate(policy, namespace: "", at: ["trafficPolicy"], into: &$0) }, testCase)
    }

    // Ported from TestValidateConnectionPool (all cases).
    @Test(arguments: [
        RuleCase("valid connection pool, tcp and http", "{tcp: {maxConnections: 7, connectTimeout: 2s}, http: {http1MaxPendingRequests: 2, http2MaxRequests: 11, maxRequestsPerConnection: 5, maxRetries: 4, idleTimeout: 30s, maxConcurrentStreams: 5}}", valid: true),
        RuleCase("valid connection pool, tcp only", "{tcp: {maxConnections: 7, connectTimeout: 2s}}", valid: true),
        RuleCase("valid connection pool, http only", "{http: {http1MaxPendingRequests: 2, http2MaxRequests: 11, maxRequestsPerConnection: 5, maxRetries: 4, idleTimeout: 30s, maxConcurrentStreams: 5}}", valid: true),
        RuleCase("valid connection pool, http only with empty idle timeout", "{http: {http1MaxPendingRequests: 2, http2MaxRequests: 11, maxRequestsPerConnection: 5, maxRetries: 4, maxConcurrentStreams: 5}}", valid: true),
        RuleCase("valid connection pool, http2 keepalive", "{http: {http2KeepAlive: {interval: 15s, timeout: 5s}}}", valid: true),
        RuleCase("invalid connection pool, empty", "{}", valid: false),
        RuleCase("invalid connection pool, bad max connections", "{tcp: {maxConnections: -1}}", valid: false),
        RuleCase("invalid connection pool, bad connect timeout", "{tcp: {connectTimeout: 2.000000005s}}", valid: false),
        RuleCase("invalid connection pool, bad max pending requests", "{http: {http1MaxPendingRequests: -1}}", valid: false),
        RuleCase("invalid connection pool, bad max requests", "{http: {http2MaxRequests: -1}}", valid: false),
        RuleCase("invalid connection pool, bad max requests per connection", "{http: {maxRequestsPerConnection: -1}}", valid: false),
        RuleCase("invalid connection pool, bad max retries", "{http: {maxRetries: -1}}", valid: false),
        RuleCase("invalid connection pool, bad idle timeout", "{http: {idleTimeout: 30.000000005s}}", valid: false),
        RuleCase("valid connection pool, tcp timeout disabled", "{tcp: {idleTimeout: 0s}}", valid: true),
        RuleCase("invalid connection pool, bad max concurrent streams", "{http: {maxConcurrentStreams: -1}}", valid: false),
        RuleCase("invalid connection pool, http2 keepalive without interval", "{http: {http2KeepAlive: {timeout: 5s}}}", valid: false),
        RuleCase("invalid connection pool, http2 keepalive without timeout", "{http: {http2KeepAlive: {interval: 15s}}}", valid: false),
        RuleCase("invalid connection pool, bad http2 keepalive interval", "{http: {http2KeepAlive: {interval: 15.000000005s, timeout: 5s}}}", valid: false),
        RuleCase("tcp keepalive with sub-millisecond interval", "{tcp: {tcpKeepalive: {probes: 3, time: 7200s, interval: 75.5ms}}}", valid: false),
    ])
    func connectionPool(_ testCase: RuleCase) throws {
        let policy = try Fixture.trafficPolicy("{connectionPool: \(testCase.yaml)}")
        expectVerdict(Fixture.findings { TrafficPolicyRules.connectionPool(policy.connectionPool, at: ["connectionPool"], into: &$0) }, testCase)
    }

    // Ported from TestValidateLoadBalancer (all cases).
    @Test(arguments: [
        RuleCase("valid load balancer with simple load balancing", "{simple: ROUND_ROBIN}", valid: true),
        RuleCase("valid load balancer with consistentHash load balancing", "{consistentHash: {minimumRingSize: 1024, httpCookie: {name: test, ttl: 3600s}}}", valid: true),
        RuleCase("invalid load balancer with consistentHash load balancing, missing name", "{consistentHash: {minimumRingSize: 1024, httpCookie: {ttl: 3600s}}}", valid: false),
        RuleCase("invalid load balancer with consistentHash load balancing, maglev not prime", "{consistentHash: {maglev: {tableSize: 1000}}}", valid: false),
        RuleCase("valid load balancer with consistentHash load balancing and unique cookie attributes", "{consistentHash: {httpCookie: {name: test-cookie, ttl: 3600s, attributes: [{name: SameSite, value: Strict}, {name: Secure, value: 'true'}, {name: HttpOnly, value: 'true'}]}}}", valid: true),
        RuleCase("invalid load balancer with consistentHash load balancing and duplicate cookie attribute names", "{consistentHash: {httpCookie: {name: test-cookie, ttl: 3600s, attributes: [{name: SameSite, value: Strict}, {name: SameSite, value: Lax}, {name: Secure, value: 'true'}]}}}", valid: false),
        RuleCase("invalid load balancer with consistentHash load balancing and empty cookie attribute name", "{consistentHash: {httpCookie: {name: test-cookie, ttl: 3600s, attributes: [{name: SameSite, value: Strict}, {name: '', value: some-value}, {name: Secure, value: 'true'}]}}}", valid: false),
        RuleCase("invalid: localityLbSetting and zoneAwareLbSetting both set", "{localityLbSetting: {}, zoneAwareLbSetting: {}}", valid: false),
        RuleCase("valid: zoneAwareLbSetting only", "{zoneAwareLbSetting: {failover: [{from: us-east, to: eu-west}]}}", valid: true),
        RuleCase("simple and consistent hash", "{simple: RANDOM, consistentHash: {useSourceIp: true}}", valid: false),
        RuleCase("two hash keys", "{consistentHash: {useSourceIp: true, httpHeaderName: x-user}}", valid: false),
        RuleCase("ring hash and maglev", "{consistentHash: {ringHash: {minimumRingSize: 1024}, maglev: {tableSize: 65537}}}", valid: false),
        RuleCase("deprecated ring size with ring hash", "{consistentHash: {minimumRingSize: 1024, ringHash: {minimumRingSize: 1024}}}", valid: false),
        RuleCase("maglev prime table", "{consistentHash: {httpHeaderName: x-user, maglev: {tableSize: 65537}}}", valid: true),
        RuleCase("maglev table too large", "{consistentHash: {maglev: {tableSize: 5000011}}}", valid: false),
        RuleCase("warmup", "{simple: ROUND_ROBIN, warmup: {duration: 300s, minimumPercent: 10, aggression: 1.5}}", valid: true),
        RuleCase("warmup without duration", "{warmup: {minimumPercent: 5.0}}", valid: false),
        RuleCase("warmup minimum over 100", "{warmup: {duration: 300s, minimumPercent: 150.0}}", valid: false),
        RuleCase("warmup aggression zero", "{warmup: {duration: 300s, aggression: 0}}", valid: false),
        RuleCase("warmupDurationSecs below 1ms", "{simple: ROUND_ROBIN, warmupDurationSecs: 0s}", valid: false),
        // backendUtilization (istio/api 5803fb6) is a third member of the CRD's oneOf.
        RuleCase("backend utilization", "{backendUtilization: {weightUpdatePeriod: 1s, errorUtilizationPenaltyPercent: 100}}", valid: true),
        RuleCase("backend utilization with locality", "{backendUtilization: {}, localityLbSetting: {enabled: true}}", valid: true),
        RuleCase("backend utilization and simple", "{simple: ROUND_ROBIN, backendUtilization: {}}", valid: false),
        RuleCase("backend utilization and consistent hash", "{consistentHash: {useSourceIp: true}, backendUtilization: {}}", valid: false),
    ])
    func loadBalancer(_ testCase: RuleCase) throws {
        let policy = try Fixture.trafficPolicy("{loadBalancer: \(testCase.yaml)}")
        expectVerdict(Fixture.findings { TrafficPolicyRules.loadBalancer(policy.loadBalancer, outlier: nil, at: ["loadBalancer"], into: &$0) }, testCase)
    }

    @Test func deprecatedMinimumRingSizeWarns() throws {
        let policy = try Fixture.trafficPolicy("{loadBalancer: {consistentHash: {useSourceIp: true, minimumRingSize: 1024}}}")
        let findings = Fixture.findings { TrafficPolicyRules.validate(policy, namespace: "default", at: ["trafficPolicy"], into: &$0) }
        #expect(findings.items.map(\.description) == ["warning: trafficPolicy.loadBalancer.consistentHash.minimumRingSize: consistent hash MinimumRingSize is deprecated, use ConsistentHashLB's RingHash configuration instead"])
    }

    @Test func maglevMessagesAreIstios() throws {
        let policy = try Fixture.trafficPolicy("{loadBalancer: {consistentHash: {maglev: {tableSize: 0}}}}")
        let findings = Fixture.findings { TrafficPolicyRules.validate(policy, namespace: "default", at: ["trafficPolicy"], into: &$0) }
        #expect(findings.messages == ["tableSize must be set for maglev", "tableSize must be a prime number for maglev"])
    }

    // Ported from TestValidateOutlierDetection (all cases).
    @Test(arguments: [
        RuleCase("valid outlier detection", "{interval: 2s, baseEjectionTime: 2s, maxEjectionPercent: 50}", valid: true, warning: false),
        RuleCase("invalid outlier detection, bad interval", "{interval: 2.000000005s}", valid: false, warning: false),
        RuleCase("invalid outlier detection, bad base ejection time", "{baseEjectionTime: 2.000000005s}", valid: false, warning: false),
        RuleCase("invalid outlier detection, bad max ejection percent", "{maxEjectionPercent: 105}", valid: false, warning: false),
        RuleCase("invalid outlier detection, panic threshold too low", "{minHealthPercent: -1}", valid: false, warning: false),
        RuleCase("invalid outlier detection, panic threshold too high", "{minHealthPercent: 101}", valid: false, warning: false),
        RuleCase("deprecated outlier detection, ConsecutiveErrors", "{consecutiveErrors: 101}", valid: true, warning: true),
        RuleCase("consecutive local origin errors is set but split local origin errors is not set", "{consecutiveLocalOriginFailures: 10}", valid: false, warning: false),
        RuleCase("consecutive local origin errors with split", "{consecutiveLocalOriginFailures: 10, splitExternalLocalOriginErrors: true}", valid: true, warning: false),
    ])
    func outlierDetection(_ testCase: RuleCase) throws {
        let policy = try Fixture.trafficPolicy("{outlierDetection: \(testCase.yaml)}")
        expectVerdict(Fixture.findings { TrafficPolicyRules.outlierDetection(policy.outlierDetection, at: ["outlierDetection"], into: &$0) }, testCase)
    }

    // Ported from agent/validation_test.go TestValidateTLS (all cases).
    @Test(arguments: [
        RuleCase("SIMPLE: Credential Name set correctly", "{mode: SIMPLE, credentialName: 'some credential'}", valid: true),
        RuleCase("SIMPLE CredentialName set with ClientCertificate specified", "{mode: SIMPLE, credentialName: credential, clientCertificate: cert}", valid: false),
        RuleCase("SIMPLE: CredentialName set with PrivateKey specified", "{mode: SIMPLE, credentialName: credential, privateKey: key}", valid: false),
        RuleCase("SIMPLE: CredentialName set with CACertficiates specified", "{mode: SIMPLE, credentialName: credential, caCertificates: ca}", valid: false),
        RuleCase("MUTUAL: Credential Name set correctly", "{mode: MUTUAL, credentialName: 'some credential'}", valid: true),
        RuleCase("MUTUAL CredentialName set with ClientCertificate specified", "{mode: MUTUAL, credentialName: credential, clientCertificate: cert}", valid: false),
        RuleCase("MUTUAL: CredentialName set with PrivateKey specified", "{mode: MUTUAL, credentialName: credential, privateKey: key}", valid: false),
        RuleCase("MUTUAL: CredentialName set with CACertficiates specified", "{mode: MUTUAL, credentialName: credential, caCertificates: ca}", valid: false),
        RuleCase("MUTUAL: CredentialName set with CACRL specified", "{mode: MUTUAL, credentialName: credential, caCrl: ca}", valid: false),
        RuleCase("MUTUAL: CredentialName not set with ClientCertificate and Key specified", "{mode: MUTUAL, clientCertificate: cert, privateKey: key}", valid: true),
        RuleCase("MUTUAL: CredentialName not set with ClientCertificate specified and Key missing", "{mode: MUTUAL, clientCertificate: cert, privateKey: ''}", valid: false),
        RuleCase("MUTUAL: CredentialName not set with ClientCertificate missing and Key specified", "{mode: MUTUAL, clientCertificate: '', privateKey: key}", valid: false),
        RuleCase("ISTIO_MUTUAL needs nothing", "{mode: ISTIO_MUTUAL}", valid: true),
        RuleCase("configmap credential in another namespace", "{mode: SIMPLE, credentialName: 'configmap://other/ca'}", valid: false),
        RuleCase("configmap credential in this namespace", "{mode: SIMPLE, credentialName: 'configmap://default/ca'}", valid: true),
        RuleCase("configmap credential without name", "{mode: SIMPLE, credentialName: 'configmap://default'}", valid: false),
    ])
    func clientTLS(_ testCase: RuleCase) throws {
        let policy = try Fixture.trafficPolicy("{tls: \(testCase.yaml)}")
        expectVerdict(Fixture.findings { TrafficPolicyRules.tls(policy.tls, namespace: "default", at: ["tls"], into: &$0) }, testCase)
    }

    // Ported from agent/validation_test.go TestValidateLocalityLbSetting (all cases).
    @Test(arguments: [
        ("invalid LocalityLoadBalancerSetting_Distribute total weight > 100", "{distribute: [{from: a/b/c, to: {a/b/c: 80, a/b1: 25}}]}", true, true, false),
        ("invalid LocalityLoadBalancerSetting_Distribute total weight < 100", "{distribute: [{from: a/b/c, to: {a/b/c: 80, a/b1: 15}}]}", true, true, false),
        ("invalid LocalityLoadBalancerSetting_Distribute weight = 0", "{distribute: [{from: a/b/c, to: {a/b/c: 0, a/b1: 100}}]}", true, true, false),
        ("invalid LocalityLoadBalancerSetting specify both distribute and failover", "{distribute: [{from: a/b/c, to: {a/b/c: 80, a/b1: 20}}], failover: [{from: region1, to: region2}]}", true, true, false),
        ("invalid failover src and dst have same region", "{failover: [{from: region1, to: region1}]}", true, true, false),
        ("invalid failover src contain '*' wildcard", "{failover: [{from: '*', to: region2}]}", true, true, false),
        ("invalid failover dst contain '*' wildcard", "{failover: [{from: region1, to: '*'}]}", true, true, false),
        ("invalid failover src contain '/' separator", "{failover: [{from: region1/zone1, to: region2}]}", true, true, false),
        ("invalid failover dst contain '/' separator", "{failover: [{from: region1, to: region2/zone1}]}", true, true, false),
        ("failover priority provided without outlier detection policy", "{failoverPriority: [topology.istio.io/network, topology.kubernetes.io/region, topology.kubernetes.io/zone, topology.istio.io/subzone]}", false, false, true),
        ("failover provided without outlier detection policy", "{failover: [{from: us-east, to: eu-west}, {from: us-west, to: eu-east}]}", false, false, true),
        ("invalid LocalityLoadBalancerSetting specify both failoverPriority and region in failover", "{failover: [{from: region1, to: region2}], failoverPriority: [topology.kubernetes.io/region]}", true, true, false),
        ("valid distribute", "{distribute: [{from: us-west/*, to: {us-west/*: 80, us-east/*: 20}}]}", true, false, false),
    ] as [(String, String, Bool, Bool, Bool)])
    func localityLbSetting(name: String, yaml: String, withOutlier: Bool, error: Bool, warning: Bool) throws {
        let policy = try Fixture.trafficPolicy("{loadBalancer: {localityLbSetting: \(yaml)}}")
        let outlier: OutlierDetection? = withOutlier ? OutlierDetection() : nil
        let findings = Fixture.findings { LocalityRules.localityLbSetting(policy.loadBalancer?.localityLbSetting, outlier: outlier, at: ["l"], into: &$0) }
        #expect(findings.hasErrors == error, "\(name): \(findings.items)")
        #expect(findings.hasWarnings == warning, "\(name): \(findings.items)")
    }

    @Test func localityMessagesAreIstios() throws {
        let policy = try Fixture.trafficPolicy("{loadBalancer: {localityLbSetting: {distribute: [{from: a/b/c, to: {a/b/c: 80, a/b1: 25}}]}}}")
        #expect(Fixture.findings { LocalityRules.localityLbSetting(policy.loadBalancer?.localityLbSetting, outlier: nil, at: ["l"], into: &$0) }.messages
            == ["total locality weight 105 != 100"])
    }

    // Ported from agent/validation_test.go TestValidateZoneAwareLbSetting (all cases).
    @Test(arguments: [
        ("enabled only is valid", "{enabled: true}", true, false, false),
        ("valid region-level failover", "{failover: [{from: us-east, to: eu-west}]}", true, false, false),
        ("failover same src and dst region", "{failover: [{from: region1, to: region1}]}", true, true, false),
        ("failover src has '/' (zone scope) is rejected", "{failover: [{from: region1/zone1, to: region2}]}", true, true, false),
        ("failover dst has '/' (zone scope) is rejected", "{failover: [{from: region1, to: region2/zone1}]}", true, true, false),
        ("failover src has '*' wildcard is rejected", "{failover: [{from: '*', to: region2}]}", true, true, false),
        ("failover dst has '*' wildcard is rejected", "{failover: [{from: region1, to: '*'}]}", true, true, false),
        ("failover and failoverPriority both set with topology region", "{failover: [{from: region1, to: region2}], failoverPriority: [topology.kubernetes.io/region]}", true, true, false),
        ("failoverPriority with region label is rejected", "{failoverPriority: [topology.kubernetes.io/region]}", true, true, false),
        ("failoverPriority with zone label is rejected", "{failoverPriority: [topology.kubernetes.io/zone]}", true, true, false),
        ("failoverPriority with subzone label is rejected", "{failoverPriority: [topology.istio.io/subzone]}", true, true, false),
        ("failoverPriority with non-topology labels is valid", "{failoverPriority: [version, app=ratings]}", true, false, false),
        ("failover without outlier detection warns", "{failover: [{from: us-east, to: eu-west}]}", false, false, true),
        ("failoverPriority without outlier detection warns", "{failoverPriority: [version]}", false, false, true),
    ] as [(String, String, Bool, Bool, Bool)])
    func zoneAwareLbSetting(name: String, yaml: String, withOutlier: Bool, error: Bool, warning: Bool) throws {
        let policy = try Fixture.trafficPolicy("{loadBalancer: {zoneAwareLbSetting: \(yaml)}}")
        let outlier: OutlierDetection? = withOutlier ? OutlierDetection() : nil
        let findings = Fixture.findings { LocalityRules.zoneAwareLbSetting(policy.loadBalancer?.zoneAwareLbSetting, outlier: outlier, at: ["z"], into: &$0) }
        #expect(findings.hasErrors == error, "\(name): \(findings.items)")
        #expect(findings.hasWarnings == warning, "\(name): \(findings.items)")
    }

    @Test func subsetAndPortLevelWarningsAreDroppedLikeIstio() throws {
        // Istio merges subset and port-level policies through its error-only path.
        let deprecated = "{outlierDetection: {consecutiveErrors: 5}}"
        let topLevel = try Fixture.destinationRule(spec: "{host: reviews, trafficPolicy: \(deprecated)}")
        #expect(Validator().validate(topLevel).map(\.severity) == [.warning])
        let subset = try Fixture.destinationRule(spec: "{host: reviews, subsets: [{name: v1, labels: {version: v1}, trafficPolicy: \(deprecated)}]}")
        #expect(Validator().validate(subset).isEmpty)
        let port = try Fixture.destinationRule(spec: "{host: reviews, trafficPolicy: {portLevelSettings: [{port: {number: 80}, outlierDetection: {consecutiveErrors: 5}}]}}")
        #expect(Validator().validate(port).isEmpty)
    }

    @Test func destinationRuleMessagesAndPaths() throws {
        let dr = try Fixture.destinationRule(spec: "{host: 'bad_host', subsets: [{name: v1, labels: {'a b': c}}, {name: v1}], exportTo: ['~']}")
        #expect(Validator().validate(dr).map { "\($0.field?.description ?? ""): \($0.message)" } == [
            "host: domain name \"bad_host\" invalid (label \"bad_host\" invalid)",
            "subsets[0].labels: invalid tag key: \"a b\"",
            "subsets[1].name: duplicate subset names: v1",
            "exportTo[0]: exportTo ~ (none) is not allowed for Istio configuration objects",
        ])
    }

    @Test func workloadSelectorRules() throws {
        let wildcard = try Fixture.destinationRule(spec: "{host: reviews, workloadSelector: {matchLabels: {app: '*'}}}")
        #expect(Validator().validate(wildcard).map(\.message) == ["wildcard is not supported in selector: \"app=*\""])
        let wrongField = try Fixture.destinationRule(spec: "{host: reviews, workloadSelector: {labels: {app: a}}}")
        #expect(Validator().validate(wrongField).map(\.severity) == [.error, .warning])
        let exported = try Fixture.destinationRule(spec: "{host: reviews, workloadSelector: {matchLabels: {app: a}}, exportTo: ['*']}")
        #expect(Validator().validate(exported).map(\.message) == ["destination rule with workload selector cannot have exportTo beyond current namespace"])
    }

    /// Istio accepts `*` as a DestinationRule host (ValidateWildcardDomain allows it).
    @Test func wildcardHostIsAccepted() throws {
        let dr = try Fixture.destinationRule(spec: "{host: '*', trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}}")
        #expect(Validator().validate(dr).isEmpty)
    }

    // Ported from pkg/config/validation/testdata/crds/destinationrule-{valid,invalid}.yaml.
    @Test func istioCRDTestdata() throws {
        for spec in [
            "{host: ratings.prod.svc.cluster.local, trafficPolicy: {loadBalancer: {warmup: {duration: 300s}}}}",
            "{host: ratings.prod.svc.cluster.local, trafficPolicy: {loadBalancer: {warmup: {duration: 300s, minimumPercent: 5.0}}}}",
            "{host: ratings.prod.svc.cluster.local, trafficPolicy: {loadBalancer: {warmup: {duration: 300s, minimumPercent: 5.0, aggression: 5.0}}}}",
            "{host: ratings.prod.svc.cluster.local, trafficPolicy: {connectionPool: {http: {http2KeepAlive: {interval: 15s, timeout: 5s}}}}}",
        ] {
            #expect(Validator().validate(try Fixture.destinationRule(spec: spec)).isEmpty, "\(spec)")
        }
        for (spec, field) in [
            ("{host: ratings.prod.svc.cluster.local, trafficPolicy: {loadBalancer: {warmup: {duration: 300s, minimumPercent: 150.0}}}}", "trafficPolicy.loadBalancer.warmup.minimumPercent"),
            ("{host: ratings.prod.svc.cluster.local, trafficPolicy: {loadBalancer: {warmup: {minimumPercent: 5.0}}}}", "trafficPolicy.loadBalancer.warmup"),
            ("{host: ratings.prod.svc.cluster.local, trafficPolicy: {loadBalancer: {warmup: {duration: 300s, aggression: -0.1}}}}", "trafficPolicy.loadBalancer.warmup.aggression"),
        ] {
            let diagnostics = Validator().validate(try Fixture.destinationRule(spec: spec))
            #expect(diagnostics.map { $0.field?.description } == [field], "\(spec)")
        }
    }
}
