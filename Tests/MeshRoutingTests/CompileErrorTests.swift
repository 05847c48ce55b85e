import MeshConfig
import Testing

@testable import MeshRouting

/// Configurations that cannot be compiled fail with every problem and its file:line.
@Suite struct CompileErrorTests {
    func compileErrors(_ http: String) throws -> [ConfigDiagnostic] {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
            \(http)
            """
        do {
            _ = try RoutingSnapshot(resources: resources(yaml, file: "configs/vs.yaml"))
            return []
        } catch let error as RoutingCompileError {
            return error.diagnostics
        }
    }

    @Test func aRegexRE2RejectsIsAnErrorAtItsLine() throws {
        let errors = try compileErrors(
            """
              - match:
                - headers:
                    x-user:
                      regex: "(unclosed"
                route: [{destination: {host: reviews}}]
            """)
        #expect(errors.count == 1)
        #expect(errors.first?.file == "configs/vs.yaml")
        #expect(errors.first?.line == 10)
        #expect(errors.first?.description.hasPrefix("configs/vs.yaml:10: error: VirtualService default/reviews: http[0].match[0].headers.x-user.regex: invalid RE2 regex") == true)
    }

    @Test func everyBadRegexIsReportedNotOnlyTheFirst() throws {
        let errors = try compileErrors(
            """
              - match: [{uri: {regex: "a(b"}}, {queryParams: {q: {regex: "[z-a]"}}}]
                route: [{destination: {host: reviews}}]
              - rewrite: {uriRegexRewrite: {match: "(x", rewrite: /y}}
                route: [{destination: {host: reviews}}]
            """)
        #expect(errors.count == 3)
        #expect(errors.map { $0.field?.description ?? "" } == ["http[0].match[0].uri.regex", "http[0].match[1].queryParams.q.regex", "http[1].rewrite.uriRegexRewrite.match"])
    }

    @Test func aRegexTooLargeForEnvoyIsRejected() throws {
        // Each literal byte is at least one RE2 instruction: 150 bytes exceed Envoy's limit of 100.
        let pattern = String(repeating: "ab", count: 75)
        let errors = try compileErrors(
            """
              - match: [{uri: {regex: "\(pattern)"}}]
                route: [{destination: {host: reviews}}]
            """)
        #expect(errors.first?.message.contains("program size") == true)
    }

    // Istio supports one level of delegation (HTTPRoute.delegate docs; validation rejects a
    // delegate's rule that delegates): reported at the delegate's own file and line.
    @Test func aDelegatesRuleThatDelegatesAgainIsAnErrorAtItsLine() throws {
        let yaml = """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - delegate: {name: reviews-delegate}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews-delegate, namespace: default}
            spec:
              http:
              - route: [{destination: {host: reviews}}]
              - delegate: {name: deeper}
            """
        do {
            _ = try RoutingSnapshot(resources: ConfigLoader().load(text: yaml, file: "configs/vs.yaml").resources)
            Issue.record("expected a compile error")
        } catch let error as RoutingCompileError {
            #expect(error.diagnostics.first?.message.contains("one level") == true)
            #expect(error.diagnostics.first?.resource == "VirtualService default/reviews-delegate")
            #expect(error.diagnostics.first?.line == 15)
        }
    }

    @Test func severalDestinationsWithoutWeightsCannotRoute() throws {
        let errors = try compileErrors(
            """
              - route:
                - destination: {host: reviews, subset: v1}
                - destination: {host: reviews, subset: v2}
            """)
        #expect(errors.first?.message.contains("total destination weight is 0") == true)
    }

    @Test func ruleWithoutActionAndUnsupportedRedirectCode() throws {
        let errors = try compileErrors(
            """
              - match: [{uri: {prefix: /a}}]
              - redirect: {uri: /b, redirectCode: 399}
            """)
        #expect(errors.map { $0.field?.description ?? "" } == ["http[0]", "http[1].redirect.redirectCode"])
    }
}
