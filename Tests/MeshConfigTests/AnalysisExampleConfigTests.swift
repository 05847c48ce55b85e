import Foundation
import Testing

@testable import MeshConfig

/// The repository's configs/ as `meshsim analyze` sees them, and the message format.
@Suite struct AnalysisExampleConfigTests {
    func analyzeConfigs(_ relative: [String]) -> [AnalysisMessage] {
        let loaded = ConfigLoader().load(paths: relative.map { "\(configsDirectory)/\($0)" })
        #expect(loaded.diagnostics.isEmpty, "\(loaded.diagnostics)")
        return Analyzer().analyze(loaded.resources)
    }

    @Test func brokenLabelsReportsSubsetV2AtItsLabels() throws {
        let found = analyzeConfigs(["broken-labels"])
        #expect(found.count == 1)
        let message = try #require(found.first)
        #expect(message.code == "IST0173")
        #expect(message.level == .error)
        #expect(message.origin == "DestinationRule default/reviews")
        #expect(message.file == "\(configsDirectory)/broken-labels/reviews.yaml")
        #expect(message.field?.description == "subsets[1].labels")
        // Line of `labels: {version: v2}` under `- name: v2`, found in the file itself.
        let text = try String(contentsOfFile: message.file, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let nameLine = try #require(lines.firstIndex { $0.contains("- name: v2") })
        #expect(lines[nameLine + 1].contains("labels: {version: v2}"))
        #expect(message.line == nameLine + 2)
        #expect(message.description == "Error [IST0173] (DestinationRule default/reviews \(message.file):\(nameLine + 2)) The Subset v2 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).")
    }

    @Test(arguments: ["00-all-v1.yaml", "05-canary-5.yaml", "25-canary-25.yaml", "50-canary-50.yaml", "100-all-v2.yaml"])
    func everyRolloutStepWithTheWorkloadsIsClean(step: String) {
        #expect(analyzeConfigs(["reviews", "rollout/\(step)"]).isEmpty)
    }

    @Test func allRolloutStepsTogetherAreClean() {
        #expect(analyzeConfigs(["reviews", "rollout"]).isEmpty)
    }

    @Test func headerRoutingWithTheWorkloadsIsClean() {
        #expect(analyzeConfigs(["reviews", "header-routing"]).isEmpty)
    }

    @Test func rateLimitedCanaryIsClean() {
        #expect(analyzeConfigs(["rate-limited-canary"]).isEmpty)
    }

    @Test func outlierDetectionIsClean() {
        #expect(analyzeConfigs(["outlier-detection"]).isEmpty)
    }

    @Test func darkLaunchIsClean() {
        #expect(analyzeConfigs(["dark-launch"]).isEmpty)
    }

    @Test func grpcCanaryIsClean() {
        #expect(analyzeConfigs(["grpc-canary"]).isEmpty)
    }

    @Test func websocketCanaryIsClean() {
        #expect(analyzeConfigs(["websocket-canary"]).isEmpty)
    }

    @Test func headerRoutingAloneMissesItsServiceAndSubsets() {
        // Without configs/reviews there is no Service and no DestinationRule for `reviews`.
        let found = analyzeConfigs(["header-routing"])
        #expect(Set(found.map(\.code)) == ["IST0101"])
        #expect(found.map(\.message).contains(#"Referenced host+subset in destinationrule not found: "reviews+v2""#))
        #expect(found.map(\.message).contains(#"Referenced host not found: "reviews""#))
    }
}

@Suite struct AnalysisMessageFormatTests {
    func message(_ type: AnalysisMessageType, kind: String = "VirtualService", namespace: String? = "default", name: String = "a", line: Int? = 3, text: String = "x") -> AnalysisMessage {
        AnalysisMessage(type: type, resourceKind: kind, resourceNamespace: namespace, resourceName: name, file: "f.yaml", line: line, field: nil, message: text)
    }

    @Test func printsLikeIstioctl() {
        #expect(message(.referencedResourceNotFound, name: "my-service-route", line: 12, text: "t").description
            == "Error [IST0101] (VirtualService default/my-service-route f.yaml:12) t")
        #expect(message(.namespaceNotInjected, kind: "Namespace", namespace: nil, name: "bar", line: nil).description
            == "Info [IST0102] (Namespace bar f.yaml) x")
    }

    @Test func sortsByLevelThenCodeThenResourceAndDropsDuplicates() {
        let sorted = AnalysisMessage.sortedAndDeduplicated([
            message(.virtualServiceIneffectiveMatch),
            message(.unknownDestinationRuleHost, name: "b"),
            message(.referencedResourceNotFound, name: "b"),
            message(.referencedResourceNotFound, name: "a"),
            message(.referencedResourceNotFound, name: "a"),
        ])
        #expect(sorted.map { "\($0.code) \($0.resourceName)" } == ["IST0101 a", "IST0101 b", "IST0174 b", "IST0131 a"])
    }

    @Test func jsonUsesIstioctlKeys() throws {
        var m = message(.destinationRuleSubsetNotSelectPods, kind: "DestinationRule", name: "reviews", line: 69, text: "t")
        m.field = ["subsets", .index(1), "labels"]
        let object = try #require(JSONSerialization.jsonObject(with: JSONEncoder().encode(m)) as? [String: String])
        #expect(object == [
            "code": "IST0173", "level": "Error", "origin": "DestinationRule default/reviews", "reference": "f.yaml:69",
            "field": "subsets[1].labels", "message": "t",
            "documentationUrl": "https://istio.io/latest/docs/reference/config/analysis/ist0173/",
        ])
    }

    @Test func goQuotingEscapesLikeGo() {
        #expect(IstioText.goQuoted(#"a"b\c"#) == #""a\"b\\c""#)
        #expect(IstioText.goQuoted("tab\there\u{1}") == #""tab\there\x01""#)
        #expect(IstioText.goQuoted("café") == "\"café\"")
    }

    @Test func levelsParseInAnyCaseAndCompareWorstFirst() {
        #expect(AnalysisMessage.Level(parsing: "warning") == .warning)
        #expect(AnalysisMessage.Level(parsing: "ERROR") == .error)
        #expect(AnalysisMessage.Level(parsing: "fatal") == nil)
        #expect(AnalysisMessage.Level.error.isAtLeast(.warning))
        #expect(!AnalysisMessage.Level.info.isAtLeast(.warning))
    }

    @Test func validationFindingsBecomeSchemaMessages() throws {
        let error = ConfigDiagnostic(
            severity: .error, file: "vs.yaml", line: 14, resource: "VirtualService default/reviews",
            field: ["http", .index(0), "route", .index(1), "weight"], message: "weight -5 < 0")
        let converted = try #require(AnalysisMessage(validation: error))
        #expect(converted.description == "Error [IST0106] (VirtualService default/reviews vs.yaml:14) Schema validation error: http[0].route[1].weight: weight -5 < 0")
        let warning = ConfigDiagnostic(severity: .warning, file: "ns.yaml", line: 2, resource: "Namespace default/shop", message: "w")
        #expect(AnalysisMessage(validation: warning)?.description == "Warning [IST0133] (Namespace shop ns.yaml:2) Schema validation warning: w")
        #expect(AnalysisMessage(validation: ConfigDiagnostic(severity: .note, file: "x", line: nil, message: "n")) == nil)
    }

    @Test func unreachableRuleWarningsBecomeTheirOwnCodes() {
        // What istioctl's schema analyzer does with Istio's AnalysisAwareError warnings.
        func convert(_ text: String) -> AnalysisMessage? {
            AnalysisMessage(validation: ConfigDiagnostic(
                severity: .warning, file: "vs.yaml", line: 9, resource: "VirtualService default/r", field: ["http", .index(1)], message: text))
        }
        let unused = convert("virtualService rule \"b\" not used (all matches used by prior rules)")
        #expect(unused?.code == "IST0130")
        #expect(unused?.message == "VirtualService rule \"b\" not used (all matches used by prior rules).")
        let ineffective = convert("virtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0)")
        #expect(ineffective?.code == "IST0131")
        #expect(ineffective?.level == .info)
        #expect(ineffective?.message == "VirtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0).")
        // A name that merely looks like the wording stays a schema warning.
        #expect(convert("virtualService rule is odd")?.code == "IST0133")
    }
}
