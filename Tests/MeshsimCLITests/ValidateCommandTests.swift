import Foundation
import Testing

/// A scratch directory for one test's files, removed when the test ends.
private final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("meshsim-validate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try Data(text.utf8).write(to: file)
        return file.path
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

private let invalidVirtualService = """
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata:
      name: reviews
    spec:
      hosts: [reviews]
      http:
      - route:
        - destination: {host: reviews, subset: v1}
          weight: 105
        - destination: {host: reviews, subset: v2}
          weight: -5
    """

@Suite struct ValidateCommandTests {
    @Test func configsExamplesAreValid() async throws {
        let output = try await MeshsimRunner.run(["validate", MeshsimRunner.configs("")])
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        #expect(!output.stdout.contains(": error: "))
        let summary = try #require(output.stdout.split(separator: "\n").last)
        #expect(summary.hasPrefix("valid: ") && summary.hasSuffix(", 0 errors, 0 warnings"), "\(summary)")
    }

    @Test(arguments: ["reviews", "header-routing", "broken-labels", "rate-limited-canary", "grpc-canary", "outlier-detection", "dark-launch", "websocket-canary", "rollout"])
    func eachExampleIsValidWithDashF(example: String) async throws {
        let output = try await MeshsimRunner.run(["validate", "-f", MeshsimRunner.configs(example)])
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
    }

    @Test func invalidFileExitsOneWithFileLineDiagnostics() async throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.write("vs.yaml", invalidVirtualService)
        let output = try await MeshsimRunner.run(["validate", "-f", file])
        #expect(output.status == 1)
        #expect(output.stdout.split(separator: "\n").map(String.init) == [
            "\(file):12: error: VirtualService default/reviews: http[0].route[1].weight: weight -5 < 0",
            "invalid: 1 Istio resource in 1 file, 1 error, 0 warnings",
        ])
    }

    @Test func readsStdin() async throws {
        let output = try await MeshsimRunner.run(["validate", "-"], stdin: invalidVirtualService)
        #expect(output.status == 1)
        #expect(output.stdout.hasPrefix("<stdin>:12: error: VirtualService default/reviews: http[0].route[1].weight: weight -5 < 0\n"))
        let valid = try await MeshsimRunner.run(["validate", "-f", "-", "--namespace", "shop"], stdin: """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews}
            spec: {host: reviews, subsets: [{name: v1, labels: {version: v1}}]}
            """)
        #expect(valid.status == 0, "\(valid.stdout)")
        #expect(valid.stdout == "valid: 1 Istio resource in 1 file, 0 errors, 0 warnings\n")
    }

    @Test func warningsAloneDoNotFail() async throws {
        let output = try await MeshsimRunner.run(["validate", "-"], stdin: """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: shop}
            spec:
              host: reviews
              trafficPolicy:
                outlierDetection: {consecutiveErrors: 5}
            """)
        #expect(output.status == 0)
        #expect(output.stdout.contains("<stdin>:7: warning: DestinationRule shop/reviews: trafficPolicy.outlierDetection.consecutiveErrors: outlier detection consecutive errors is deprecated"))
        #expect(output.stdout.hasSuffix("valid: 1 Istio resource in 1 file, 0 errors, 1 warning\n"))
    }

    @Test func loadErrorsFailToo() async throws {
        let scratch = try ScratchDirectory()
        let file = try scratch.write("dr.yaml", """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews}
            spec:
              host: reviews
              subsets:
              - name: v1
                lables: {version: v1}
            """)
        let output = try await MeshsimRunner.run(["validate", file])
        #expect(output.status == 1)
        #expect(output.stdout.contains("\(file):8: error: DestinationRule default/reviews: subsets[0].lables: unknown field \"lables\""))
        let missing = try await MeshsimRunner.run(["validate", scratch.url.appendingPathComponent("nope.yaml").path])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("nope.yaml: error: no such file or directory"))
    }

    @Test func diagnosticsAreOrderedByFileAndLine() async throws {
        let scratch = try ScratchDirectory()
        let broken = try scratch.write("b.yaml", "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: se}\nspec: {hosts: [a.b], bogus: 1}\n")
        let invalid = try scratch.write("a.yaml", invalidVirtualService)
        let output = try await MeshsimRunner.run(["validate", "-f", broken, invalid])
        #expect(output.status == 1)
        #expect(output.stdout.split(separator: "\n").map(String.init) == [
            "\(invalid):12: error: VirtualService default/reviews: http[0].route[1].weight: weight -5 < 0",
            "\(broken):4: error: ServiceEntry default/se: bogus: unknown field \"bogus\"",
            "invalid: 1 Istio resource in 2 files, 2 errors, 0 warnings",
        ])
    }

    @Test func jsonOutputListsEveryDiagnostic() async throws {
        let output = try await MeshsimRunner.run(["validate", "--output", "json", "-"], stdin: invalidVirtualService + """

            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews}
            spec: {host: reviews, trafficPolicy: {outlierDetection: {consecutiveErrors: 5}}}
            """)
        #expect(output.status == 1)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[0]["severity"] as? String == "error")
        #expect(array[0]["file"] as? String == "<stdin>")
        #expect(array[0]["line"] as? Int == 12)
        #expect(array[0]["resource"] as? String == "VirtualService default/reviews")
        #expect(array[0]["field"] as? String == "http[0].route[1].weight")
        #expect(array[0]["message"] as? String == "weight -5 < 0")
        #expect(array[1]["severity"] as? String == "warning")
        #expect(array[1]["field"] as? String == "trafficPolicy.outlierDetection.consecutiveErrors")
    }

    @Test func jsonOutputOfValidInputIsAnEmptyArray() async throws {
        let output = try await MeshsimRunner.run(["validate", "-o", "json", MeshsimRunner.configs("reviews")])
        #expect(output.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [Any])
        #expect(array.isEmpty)
    }

    @Test func withoutInputItIsAUsageError() async throws {
        let output = try await MeshsimRunner.run(["validate"])
        #expect(output.status != 0 && output.status != 1)
        #expect(output.stderr.contains("give the files or directories to validate"))
    }

    /// Like istioctl validate, a Service port that does not say its protocol fails validation,
    /// unless the Service lives in the Istio namespace (-i).
    @Test func serviceWithAnUnnamedPortFailsLikeIstioctl() async throws {
        let input = """
            apiVersion: v1
            kind: Service
            metadata: {name: hello, namespace: apps}
            spec: {ports: [{port: 9080}]}
            """
        let output = try await MeshsimRunner.run(["validate", "-"], stdin: input)
        #expect(output.status == 1)
        #expect(output.stdout.hasPrefix("<stdin>:4: error: Service apps/hello: ports[0]: service \"hello/apps/:\" has an unnamed port."))
        let skipped = try await MeshsimRunner.run(["validate", "-i", "apps", "-"], stdin: input)
        #expect(skipped.status == 0, "\(skipped.stdout)")
    }
}
