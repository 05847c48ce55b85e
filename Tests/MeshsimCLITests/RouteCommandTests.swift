import Foundation
import MeshTestSupport
import Testing

/// `meshsim route` as a user runs it, on every configs/ example.
@Suite struct RouteCommandTests {
    let headerRouting = ["-f", MeshsimRunner.configs("reviews"), "-f", MeshsimRunner.configs("header-routing")]

    @Test func betaHeaderReachesV2AsExactJSON() async throws {
        let output = try await MeshsimRunner.run(["route"] + headerRouting + ["--output", "json", "-H", "X-User-Group: beta", "/api"])
        #expect(output.status == 0)
        #expect(output.stderr.isEmpty)
        #expect(
            output.stdout
                == #"{"status": 200, "responseFlags": "-", "virtualService": "default/reviews", "rule": {"index": 0, "name": "beta-users"}, "destinations": [{"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 100, "fraction": 1.0}]}"#
                + "\n")
    }

    @Test func betaHeaderExplainedAsText() async throws {
        let output = try await MeshsimRunner.run(["route"] + headerRouting + ["--authority", "reviews:9080", "-H", "x-user-group: beta", "GET", "/api"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("VirtualService  default/reviews"))
        #expect(output.stdout.contains(#"rule            0 "beta-users""#))
        #expect(output.stdout.contains(#"match[0]: headers x-user-group: exact "beta""#))
        #expect(output.stdout.contains("subset v2  port 9080  weight 100  100%  endpoints: reviews-v2-0, reviews-v2-1"))
        #expect(output.stdout.contains("result          200 -"))
    }

    @Test func everyoneElseGetsTheNinetyFiveFiveSplit() async throws {
        let output = try await MeshsimRunner.run(["route"] + headerRouting + ["--output", "json", "-X", "POST", "/api?x=1"])
        #expect(output.status == 0)
        #expect(
            output.stdout
                == #"{"status": 200, "responseFlags": "-", "virtualService": "default/reviews", "rule": {"index": 1, "name": "canary"}, "destinations": [{"host": "reviews.default.svc.cluster.local", "subset": "v1", "weight": 95, "fraction": 0.95}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 5, "fraction": 0.05}]}"#
                + "\n")
        let text = try await MeshsimRunner.run(["route"] + headerRouting + ["-H", "x-user-group: alpha", "/"])
        #expect(text.stdout.contains(#"skipped         rule 0 "beta-users": match[0]: headers x-user-group: exact "beta" (got "alpha")"#))
    }

    @Test(arguments: [
        ("00-all-v1.yaml", #"[{"host": "reviews.default.svc.cluster.local", "subset": "v1", "weight": 100, "fraction": 1.0}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 0, "fraction": 0.0}]"#),
        ("05-canary-5.yaml", #"[{"host": "reviews.default.svc.cluster.local", "subset": "v1", "weight": 95, "fraction": 0.95}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 5, "fraction": 0.05}]"#),
        ("25-canary-25.yaml", #"[{"host": "reviews.default.svc.cluster.local", "subset": "v1", "weight": 75, "fraction": 0.75}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 25, "fraction": 0.25}]"#),
        ("50-canary-50.yaml", #"[{"host": "reviews.default.svc.cluster.local", "subset": "v1", "weight": 50, "fraction": 0.5}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 50, "fraction": 0.5}]"#),
        ("100-all-v2.yaml", #"[{"host": "reviews.default.svc.cluster.local", "subset": "v1", "weight": 0, "fraction": 0.0}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 100, "fraction": 1.0}]"#),
    ])
    func everyRolloutStep(step: String, destinations: String) async throws {
        let output = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("reviews"), "-f", MeshsimRunner.configs("rollout/\(step)"), "--output", "json", "/"])
        #expect(output.status == 0)
        #expect(
            output.stdout
                == #"{"status": 200, "responseFlags": "-", "virtualService": "default/reviews", "rule": {"index": 0, "name": "canary"}, "destinations": "#
                + destinations + "}\n")
    }

    @Test func brokenLabelsReportsTheV2ShareAs503UH() async throws {
        let output = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("broken-labels"), "--output", "json", "GET", "/"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix(#"{"status": 503, "responseFlags": "UH", "virtualService": "default/reviews", "rule": {"index": 0, "name": "canary"}, "destinations": [{"host": "reviews.default.svc.cluster.local", "subset": "v1", "weight": 95, "fraction": 0.95}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 5, "fraction": 0.05, "status": 503, "responseFlags": "UH"}], "notes": ["#))
        let text = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("broken-labels"), "/"])
        #expect(text.stdout.contains("subset v2  port 9080  weight 5  5%  → 503 UH"))
        #expect(text.stdout.contains("result          503 UH"))
    }

    @Test func rateLimitedCanarySplitsSeventyFiveTwentyFive() async throws {
        let output = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("rate-limited-canary"), "--output", "json", "/"])
        #expect(output.status == 0)
        #expect(output.stdout.contains(#""subset": "v1", "weight": 75, "fraction": 0.75}, {"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 25, "fraction": 0.25}"#))
    }

    /// configs/grpc-canary's port is `grpc-*`: both subsets' clusters speak HTTP/2 to their pods,
    /// and the explanation says so (an HTTP/1.1 cluster, the common case, says nothing).
    @Test func grpcCanaryDestinationsSayTheyGoOverHTTP2() async throws {
        let arguments = ["route", "-f", MeshsimRunner.configs("grpc-canary"), "-X", "POST", "/helloworld.Greeter/SayHello"]
        let json = try await MeshsimRunner.run(arguments + ["--output", "json"])
        #expect(json.status == 0)
        #expect(json.stdout.contains(#""subset": "v2", "weight": 10, "fraction": 0.1, "upstreamProtocol": "HTTP/2"}"#), "\(json.stdout)")
        let text = try await MeshsimRunner.run(arguments)
        #expect(text.stdout.contains("endpoints: greeter-v2-0  over HTTP/2"), "\(text.stdout)")
        let http1 = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("rate-limited-canary"), "--output", "json", "/"])
        #expect(!http1.stdout.contains("upstreamProtocol"))
    }

    /// configs/dark-launch sends every request to v1 and a copy of each to v2: the explanation
    /// says both, and the copy does not change the client's status.
    @Test func darkLaunchShowsTheMirrorNextToTheDestination() async throws {
        let json = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("dark-launch"), "--output", "json", "/"])
        #expect(json.status == 0)
        #expect(
            json.stdout
                == #"{"status": 200, "responseFlags": "-", "virtualService": "default/httpbin", "rule": {"index": 0, "name": "dark-launch"}, "destinations": [{"host": "httpbin.default.svc.cluster.local", "subset": "v1", "weight": 100, "fraction": 1.0}], "mirrors": [{"host": "httpbin.default.svc.cluster.local", "subset": "v2", "percentage": 100.0}]}"#
                + "\n")
        let text = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("dark-launch"), "/"])
        #expect(text.status == 0)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let destination = lines.firstIndex { $0.contains("subset v1  port 8000  weight 100  100%  endpoints: httpbin-v1-0, httpbin-v1-1") }
        let heading = lines.firstIndex { $0.hasPrefix("  mirrors (a copy of the request") }
        let mirror = lines.firstIndex { $0 == "    httpbin.default.svc.cluster.local subset v2  port 8000  100% of requests  endpoints: httpbin-v2-0" }
        #expect(destination != nil && heading != nil && mirror != nil, "\(text.stdout)")
        if let destination, let heading, let mirror { #expect(destination < heading && heading < mirror) }
        #expect(text.stdout.contains("result          200 -"))
    }

    /// A `mirrors` list: each entry with its own percentage (default 100%), one whose subset no
    /// DestinationRule defines flagged NC (Envoy sends it no copy); a rule without mirrors has no
    /// "mirrors" key.
    @Test func mirrorsListShowsEachCopyAndItsShare() async throws {
        try await withTemporaryFile(
            FixtureYAML.virtualService(
                "reviews",
                http: """
                    - name: shadowed
                      match: [{uri: {prefix: /shadowed}}]
                      route: [{destination: {host: reviews, subset: v1}}]
                      mirrors:
                      - destination: {host: reviews, subset: v2}
                        percentage: {value: 12.5}
                      - destination: {host: reviews, subset: v3}
                    - name: plain
                      route: [{destination: {host: reviews, subset: v1}}]
                    """)
        ) { path in
            let files = ["-f", MeshsimRunner.configs("reviews"), "-f", path]
            let json = try await MeshsimRunner.run(["route"] + files + ["--output", "json", "/shadowed"])
            #expect(json.status == 0)
            #expect(
                json.stdout.contains(
                    #""mirrors": [{"host": "reviews.default.svc.cluster.local", "subset": "v2", "percentage": 12.5}, {"host": "reviews.default.svc.cluster.local", "subset": "v3", "percentage": 100.0, "status": 503, "responseFlags": "NC"}]"#),
                "\(json.stdout)")
            #expect(json.stdout.hasPrefix(#"{"status": 200, "responseFlags": "-""#))
            let text = try await MeshsimRunner.run(["route"] + files + ["/shadowed"])
            #expect(text.stdout.contains("    reviews.default.svc.cluster.local subset v2  port 9080  12.5% of requests  endpoints: reviews-v2-0, reviews-v2-1"))
            #expect(text.stdout.contains("    reviews.default.svc.cluster.local subset v3  port 9080  100% of requests  → no copy"))
            let plain = try await MeshsimRunner.run(["route"] + files + ["--output", "json", "/other"])
            #expect(plain.status == 0)
            #expect(plain.stdout.contains(#""rule": {"index": 1, "name": "plain"}"#) && !plain.stdout.contains("mirrors"), "\(plain.stdout)")
        }
    }

    @Test func unknownHostIs404NR() async throws {
        let output = try await MeshsimRunner.run(["route"] + headerRouting + ["--authority", "ratings", "--output", "json", "/"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix(#"{"status": 404, "responseFlags": "NR", "virtualService": null, "rule": null, "destinations": [], "notes": ["#))
    }

    @Test func noMatchingRuleIs404NRWithEmptyDestinations() async throws {
        try await withTemporaryFile(
            FixtureYAML.virtualService(
                "reviews",
                http: """
                    - name: beta-only
                      match: [{headers: {x-user-group: {exact: beta}}}]
                      route: [{destination: {host: reviews, subset: v2}}]
                    """)
        ) { path in
            let output = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("reviews"), "-f", path, "--output", "json", "/"])
            #expect(output.status == 0)
            #expect(output.stdout == #"{"status": 404, "responseFlags": "NR", "virtualService": "default/reviews", "rule": null, "destinations": []}"# + "\n")
        }
    }

    @Test func routingFilesAloneSayEndpointsWereNotChecked() async throws {
        let output = try await MeshsimRunner.run(["route", "-f", MeshsimRunner.configs("header-routing"), "--output", "json", "-H", "x-user-group: beta", "/"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix(#"{"status": 200, "responseFlags": "-""#))
        #expect(output.stdout.contains("were not checked"))
    }

    @Test func authorityIsRequiredWhenSeveralHostsAreRouted() async throws {
        try await withTemporaryFile(
            """
            apiVersion: v1
            kind: Service
            metadata: {name: ratings, namespace: default}
            spec:
              selector: {app: ratings}
              ports: [{name: http, port: 9080}]
            """
        ) { path in
            let output = try await MeshsimRunner.run(["route"] + headerRouting + ["-f", path, "/"])
            #expect(output.status != 0)
            #expect(output.stderr.contains("several hosts"))
            let chosen = try await MeshsimRunner.run(["route"] + headerRouting + ["-f", path, "--authority", "ratings", "--output", "json", "/"])
            #expect(chosen.stdout.contains(#""virtualService": null, "rule": null, "destinations": [{"host": "ratings.default.svc.cluster.local", "subset": null, "weight": 100, "fraction": 1.0}]"#))
        }
    }

    // A delegate VirtualService (merged into its root as istiod merges it) and two VirtualServices
    // for one host (the first by name wins when neither has a creation time), as a user would
    // ask `meshsim route` about them.
    @Test func delegatesAndDuplicateHostsRouteAsIstioMergesAndOrdersThem() async throws {
        try await withTemporaryFile(
            """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: zz-reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - route: [{destination: {host: reviews, subset: v1}}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-root, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - name: api
                match: [{uri: {prefix: /api}}]
                delegate: {name: reviews-api}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-api, namespace: default}
            spec:
              http:
              - name: beta
                match: [{headers: {x-user-group: {exact: beta}}}]
                route: [{destination: {host: reviews, subset: v2}}]
            """
        ) { path in
            let beta = try await MeshsimRunner.run(
                ["route", "-f", MeshsimRunner.configs("reviews"), "-f", path, "--output", "json", "-H", "x-user-group: beta", "/api/items"])
            #expect(beta.status == 0)
            #expect(
                beta.stdout
                    == #"{"status": 200, "responseFlags": "-", "virtualService": "default/reviews-root", "rule": {"index": 0, "name": "api-beta"}, "destinations": [{"host": "reviews.default.svc.cluster.local", "subset": "v2", "weight": 100, "fraction": 1.0}]}"#
                    + "\n")
            // The root VirtualService has no rule for other requests: 404 NR, not zz-reviews' route.
            let other = try await MeshsimRunner.run(
                ["route", "-f", MeshsimRunner.configs("reviews"), "-f", path, "--authority", "reviews.default.svc.cluster.local.", "--output", "json", "/"])
            #expect(other.stdout.hasPrefix(#"{"status": 404, "responseFlags": "NR", "virtualService": "default/reviews-root", "rule": null"#))
        }
    }

    @Test func configErrorsExitOneWithFileAndLine() async throws {
        try await withTemporaryFile(
            FixtureYAML.virtualService(
                "reviews",
                http: """
                    - match: [{uri: {regex: "(unclosed"}}]
                      route: [{destination: {host: reviews}}]
                    """)
        ) { path in
            let output = try await MeshsimRunner.run(["route", "-f", path, "/"])
            #expect(output.status == 1)
            #expect(output.stderr.contains("\(path):7: error: VirtualService default/reviews: http[0].match[0].uri.regex: invalid RE2 regex"))
            #expect(output.stdout.isEmpty)
        }
        let missing = try await MeshsimRunner.run(["route", "-f", "/no/such/dir", "/"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/no/such/dir: error: no such file or directory"))
    }
}

/// Writes `text` to a fresh temporary .yaml file, runs `body` with its path, then removes it.
func withTemporaryFile(_ text: String, suffix: String = ".yaml", _ body: (String) async throws -> Void) async throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-\(UUID().uuidString)\(suffix)")
    try Data(text.utf8).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    try await body(url.path)
}
