import Foundation
import Testing

@testable import MeshConfig

@Suite struct ValidatorTests {
    @Test func everyConfigsExampleValidatesClean() {
        let result = ConfigLoader().load(paths: [configsDirectory])
        #expect(!result.hasErrors, "\(result.errors.map(\.description))")
        #expect(!result.resources.virtualServices.isEmpty && !result.resources.destinationRules.isEmpty)
        let diagnostics = Validator().validate(result.resources)
        #expect(diagnostics.isEmpty, "\(diagnostics.map(\.description))")
    }

    @Test func diagnosticsCarryFileLineResourceAndSpecPath() {
        let result = ConfigLoader().load(text: """
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata:
              name: reviews
              namespace: shop
            spec:
              hosts: [reviews]
              http:
              - route:
                - destination: {host: reviews, subset: v1}
                  weight: 105
                - destination: {host: reviews, subset: v2}
                  weight: -5
            """, file: "configs/vs.yaml")
        #expect(result.diagnostics.isEmpty)
        #expect(Validator().validate(result.resources).map(\.description) == [
            "configs/vs.yaml:13: error: VirtualService shop/reviews: http[0].route[1].weight: weight -5 < 0"
        ])
    }

    @Test func diagnosticsAreOrderedByFileThenLine() {
        var resources = MeshResources()
        for (file, text) in [("b.yaml", "{hosts: [a.b], http: [{route: [{destination: {host: '*'}}]}]}"), ("a.yaml", "{hosts: ['*'], http: [{route: [{destination: {host: a.b}}]}]}")] {
            resources.merge(ConfigLoader().load(text: "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: vs}\nspec:\n  \(text)\n", file: file).resources)
        }
        let dr = ConfigLoader().load(text: "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: dr}\nspec:\n  host: ''\n", file: "a.yaml")
        resources.merge(dr.resources)
        #expect(Validator().validate(resources).map { "\($0.file):\($0.line ?? 0)" } == ["a.yaml:5", "a.yaml:5", "b.yaml:5"])
    }

    @Test func metadataNameMustBeADNSSubdomain() throws {
        let vs = try Fixture.virtualService(spec: "{hosts: [a.b], http: [{route: [{destination: {host: a.b}}]}]}", name: "Reviews_V2")
        let diagnostics = Validator().validate(vs)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.field?.description == "metadata.name")
        #expect(diagnostics.first?.message.hasPrefix("Invalid value: \"Reviews_V2\": a lowercase RFC 1123 subdomain") == true)
        let dotted = try Fixture.virtualService(spec: "{hosts: [a.b], http: [{route: [{destination: {host: a.b}}]}]}", name: "reviews.v2")
        #expect(Validator().validate(dotted).isEmpty)
        // Kubernetes bounds the whole name (253), not each of its labels.
        let longLabel = try Fixture.virtualService(spec: "{hosts: [a.b], http: [{route: [{destination: {host: a.b}}]}]}", name: String(repeating: "a", count: 100) + ".v2")
        #expect(Validator().validate(longLabel).isEmpty)
        let tooLong = try Fixture.virtualService(spec: "{hosts: [a.b], http: [{route: [{destination: {host: a.b}}]}]}", name: String(repeating: "a", count: 254))
        #expect(Validator().validate(tooLong).map(\.message) == ["Invalid value: \"\(String(repeating: "a", count: 254))\": must be no more than 253 characters"])
    }

    @Test func metadataNamespaceAndLabels() throws {
        let result = ConfigLoader().load(text: """
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata:
              name: dr
              namespace: Shop
              labels: {app: 'bad value', example.com/ok: fine}
            spec: {host: reviews}
            """, file: "dr.yaml")
        let dr = try #require(result.resources.destinationRules.first)
        #expect(Validator().validate(dr).map { "\($0.line ?? 0) \($0.field?.description ?? "")" } == ["5 metadata.namespace", "6 metadata.labels.app"])
    }

    @Test func rejectedAnnotationsStopValidation() throws {
        let spec = "{hosts: ['*'], http: [{route: [{destination: {host: a.b}}]}]}"
        let dryRun = try Fixture.virtualService(spec: spec, annotations: "{istio.io/dry-run: 'true'}")
        #expect(Validator().validate(dryRun).map(\.message) == ["default/vs has unsupported annotation istio.io/dry-run, please remove the annotation"])
        let parents = try Fixture.virtualService(spec: spec, annotations: "{internal.istio.io/parents: x}")
        #expect(Validator().validate(parents).map(\.message) == ["\"internal.istio.io/parents\" annotation found, this may not be set by users"])
    }

    @Test func kubernetesOnlyResourcesAreNotValidated() {
        let result = ConfigLoader().load(paths: ["\(configsDirectory)/reviews/service.yaml", "\(configsDirectory)/reviews/deployment-v1.yaml"])
        #expect(!result.resources.isEmpty)
        #expect(Validator().validate(result.resources).isEmpty)
    }

    @Test func everyResourceKindIsValidated() throws {
        let resources = try Fixture.load("""
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: vs}
            spec: {hosts: [a.b]}
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: dr}
            spec: {host: a.b, trafficPolicy: {}}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: se}
            spec: {hosts: ['*']}
            ---
            apiVersion: networking.istio.io/v1
            kind: WorkloadEntry
            metadata: {name: we}
            spec: {}
            """)
        #expect(Validator().validate(resources).map(\.resource) == [
            "VirtualService default/vs", "DestinationRule default/dr", "ServiceEntry default/se", "WorkloadEntry default/we",
        ])
    }

    /// istioctl analyze validates each spec with its name and namespace only: the webhook's
    /// annotation refusals, the API server's name rules and the label-driven ServiceEntry rules
    /// (IP auto-allocation opt-out, waypoints) do not apply there.
    @Test func withoutMetadataOnlyTheSpecIsJudged() throws {
        let resources = try Fixture.load("""
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: Reviews, annotations: {istio.io/dry-run: "true"}}
            spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews}}]}]}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: db, labels: {networking.istio.io/enable-autoallocate-ip: "false"}}
            spec: {hosts: [db.example.com], ports: [{name: tcp, number: 5432, protocol: TCP}], resolution: DNS}
            ---
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: egress, labels: {istio.io/use-waypoint: waypoint}}
            spec: {hosts: ['*.example.com'], ports: [{name: http, number: 80, protocol: HTTP}], resolution: DYNAMIC_DNS, location: MESH_INTERNAL}
            """)
        let full = Validator().validate(resources)
        #expect(full.map(\.message).contains { $0.contains("has unsupported annotation istio.io/dry-run") })
        #expect(full.map(\.message).contains { $0.contains("addresses are required for ports serving TCP") })
        #expect(full.map(\.message).contains { $0.contains("is not supported when using waypoints") })
        #expect(Validator(includesMetadata: false).validate(resources).isEmpty)
    }
}
