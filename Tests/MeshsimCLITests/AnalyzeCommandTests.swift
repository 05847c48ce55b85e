import Foundation
import Testing

/// `meshsim analyze` run as a user runs it, from the repository root.
@Suite struct AnalyzeCommandTests {
    static let brokenLabelsLine = "Error [IST0173] (DestinationRule default/reviews configs/broken-labels/reviews.yaml:69) The Subset v2 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream)."

    @Test func brokenLabelsFailsWithTheSubsetMessage() async throws {
        let output = try await MeshsimRunner.run(["analyze", "configs/broken-labels"])
        #expect(output.status == 1)
        #expect(output.stdout == Self.brokenLabelsLine + "\n")
        #expect(output.stderr.contains("Error: Analyzers found issues when analyzing configs/broken-labels."))
        #expect(!output.stderr.contains("No validation issues"))
    }

    @Test func cleanDirectoriesListEveryFileRead() async throws {
        let output = try await MeshsimRunner.run(["analyze", "-f", "configs/reviews", "configs/rollout/05-canary-5.yaml"])
        #expect(output.status == 0)
        #expect(output.stdout.isEmpty)
        #expect(output.stderr == """
            \u{2714} No validation issues found when analyzing:
              - configs/reviews/deployment-v1.yaml
              - configs/reviews/deployment-v2.yaml
              - configs/reviews/destination-rule.yaml
              - configs/reviews/namespace.yaml
              - configs/reviews/service.yaml
              - configs/rollout/05-canary-5.yaml

            """)
    }

    @Test func examplesAreClean() async throws {
        for paths in [["configs/reviews", "configs/rollout"], ["configs/reviews", "configs/header-routing"]] {
            let output = try await MeshsimRunner.run(["analyze"] + paths)
            #expect(output.status == 0, "\(paths): \(output.stdout)\(output.stderr)")
            #expect(output.stdout.isEmpty)
        }
        let single = try await MeshsimRunner.run(["analyze", "configs/rate-limited-canary/reviews.yaml"])
        #expect(single.status == 0)
        #expect(single.stderr == "\u{2714} No validation issues found when analyzing configs/rate-limited-canary/reviews.yaml.\n")
    }

    @Test func jsonIsAnArrayOfIstioctlObjects() async throws {
        let output = try await MeshsimRunner.run(["analyze", "--output", "json", "configs/broken-labels"])
        #expect(output.status == 1)
        let array = try #require(JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 1)
        let first = try #require(array.first)
        #expect(first["code"] as? String == "IST0173")
        #expect(first["level"] as? String == "Error")
        #expect(first["origin"] as? String == "DestinationRule default/reviews")
        #expect(first["reference"] as? String == "configs/broken-labels/reviews.yaml:69")
        #expect(first["field"] as? String == "subsets[1].labels")
        #expect(first["documentationUrl"] as? String == "https://istio.io/latest/docs/reference/config/analysis/ist0173/")
        #expect((first["message"] as? String)?.hasPrefix("The Subset v2 defined in the DestinationRule") == true)

        let clean = try await MeshsimRunner.run(["analyze", "-o", "json", "configs/reviews", "configs/header-routing"])
        #expect(clean.status == 0)
        #expect(clean.stdout == "[]\n")
    }

    static let uninjectedNamespace = """
        apiVersion: v1
        kind: Namespace
        metadata:
          name: shop
        """

    @Test func thresholdsDecideExitStatusAndWhatIsPrinted() async throws {
        let info = "Info [IST0102] (Namespace shop <stdin>:4) The namespace is not enabled for Istio injection. Run 'kubectl label namespace shop istio-injection=enabled' to enable it, or 'kubectl label namespace shop istio-injection=disabled' to explicitly mark it as not needing injection.\n"

        let byDefault = try await MeshsimRunner.run(["analyze", "-"], stdin: Self.uninjectedNamespace)
        #expect(byDefault.status == 0)
        #expect(byDefault.stdout == info)

        let strict = try await MeshsimRunner.run(["analyze", "--failure-threshold", "info", "-"], stdin: Self.uninjectedNamespace)
        #expect(strict.status == 1)
        #expect(strict.stdout == info)

        let quiet = try await MeshsimRunner.run(["analyze", "--output-threshold", "Warning", "--failure-threshold", "Info", "-"], stdin: Self.uninjectedNamespace)
        // Hidden from the output, but still counted for the exit status (as istioctl does).
        #expect(quiet.status == 1)
        #expect(quiet.stdout.isEmpty)
        #expect(quiet.stderr.hasPrefix("\u{2714} No validation issues found when analyzing <stdin>."))

        let bad = try await MeshsimRunner.run(["analyze", "--failure-threshold", "fatal", "-"], stdin: Self.uninjectedNamespace)
        #expect(bad.status == 64)
    }

    static let invalidAndUnreachable = """
        apiVersion: v1
        kind: Service
        metadata: {name: reviews, namespace: default}
        spec:
          selector: {app: reviews}
          ports:
          - {name: http, port: 9080}
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: {name: reviews, namespace: default}
        spec:
          hosts: [reviews]
          http:
          - route:
            - destination: {host: reviews}
              weight: -5
          - route:
            - destination: {host: reviews, subset: v3}
        """

    @Test func validationFindingsComeFirstAndEachFindingPrintsOnce() async throws {
        let output = try await MeshsimRunner.run(["analyze", "-"], stdin: Self.invalidAndUnreachable)
        #expect(output.status == 1)
        // Validation (IST0106), then analysis; the unreachable rule, which validation also
        // finds, is printed once, as IST0130.
        #expect(output.stdout == """
            Error [IST0106] (VirtualService default/reviews <stdin>:17) Schema validation error: http[0].route[0].weight: weight -5 < 0
            Error [IST0101] (VirtualService default/reviews <stdin>:19) Referenced host+subset in destinationrule not found: "reviews+v3"
            Warning [IST0130] (VirtualService default/reviews <stdin>:18) VirtualService rule #1 not used (only the last rule can have no matches).

            """)
    }

    @Test func unreadableInputFails() async throws {
        let missing = try await MeshsimRunner.run(["analyze", "configs/no-such-dir"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("configs/no-such-dir: error: no such file or directory"))
        #expect(missing.stderr.contains("No validation issues found when analyzing configs/no-such-dir (but 1 file could not be parsed)."))

        let invalid = try await MeshsimRunner.run(["analyze", "-"], stdin: "kind: [unclosed\n")
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("<stdin>:"))
        #expect(invalid.stderr.contains("invalid YAML"))
    }

    @Test func withoutInputItIsAUsageError() async throws {
        let output = try await MeshsimRunner.run(["analyze"])
        #expect(output.status == 64)
        #expect(output.stderr.contains("no configuration given"))
    }

    @Test func listsAnalyzersWithTheirCodes() async throws {
        let output = try await MeshsimRunner.run(["analyze", "--list-analyzers"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("* destinationrule.SubsetSelectPodAnalyzer:\n"))
        #expect(output.stdout.contains("IST0173 DestinationRuleSubsetNotSelectPods"))
        #expect(output.stdout.contains("* virtualservice.DestinationRuleAnalyzer:\n"))
    }

    /// istioctl's schema analyzer passes each spec with its name and namespace only, so a rule
    /// that reads labels (here the IP auto-allocation opt-out) does not fire in analyze (no
    /// IST0133), while `meshsim validate`, like the webhook, sees the labels and warns. The
    /// addresses analyzer (IST0134) ignores the label in Istio too, and still reports.
    @Test func schemaAnalysisIgnoresLabelsAsIstioctlDoes() async throws {
        let input = """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: db, namespace: default, labels: {networking.istio.io/enable-autoallocate-ip: "false"}}
            spec: {hosts: [db.example.com], ports: [{name: tcp, number: 5432, protocol: TCP}], resolution: DNS}
            """
        let validate = try await MeshsimRunner.run(["validate", "-"], stdin: input)
        #expect(validate.status == 0)
        #expect(validate.stdout.contains("warning: ServiceEntry default/db: ports[0]: addresses are required"))
        let analyze = try await MeshsimRunner.run(["analyze", "-"], stdin: input)
        #expect(analyze.status == 0)
        #expect(analyze.stdout == """
            Warning [IST0134] (ServiceEntry default/db <stdin>:4) ServiceEntry addresses are required for this protocol.

            """)
    }
}
