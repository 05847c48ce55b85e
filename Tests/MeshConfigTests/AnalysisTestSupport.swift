import Testing

@testable import MeshConfig

/// Loads YAML as `meshsim analyze` would and analyzes it. Fails the test on a load error, so a
/// typo in a fixture cannot pass as "no messages".
func analyze(_ yaml: String, file: String = "analysis-test.yaml", sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [AnalysisMessage] {
    let loaded = ConfigLoader().load(text: yaml, file: file)
    let problems = loaded.diagnostics.filter { $0.severity != .note }
    #expect(problems.isEmpty, "fixture does not load cleanly: \(problems)", sourceLocation: sourceLocation)
    return Analyzer().analyze(loaded.resources)
}

/// `(code, origin)` of each message of the given codes, sorted: the form Istio's analyzer tests
/// compare (`{msg.ReferencedResourceNotFound, "VirtualService default/reviews-bogushost"}`).
func findings(_ messages: [AnalysisMessage], codes: Set<String>) -> [String] {
    messages.filter { codes.contains($0.code) }.map { "\($0.code) \($0.origin)" }.sorted()
}

/// The messages of one code.
func messages(_ messages: [AnalysisMessage], code: String) -> [AnalysisMessage] {
    messages.filter { $0.code == code }
}

/// A Service (one http port, unless `withService` is false) plus a Deployment of one pod
/// labelled `app: <service>` and `podLabels`: the registry then knows the host and its workloads.
func workloadYAML(service: String, namespace: String = "default", podLabels: [String: String], deployment: String? = nil, withService: Bool = true) -> String {
    let labels = (["app": service].merging(podLabels) { _, new in new })
        .sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
    let serviceYAML = """
        apiVersion: v1
        kind: Service
        metadata: {name: \(service), namespace: \(namespace)}
        spec:
          selector: {app: \(service)}
          ports:
          - {name: http, port: 9080}
        ---

        """
    return (withService ? serviceYAML : "") + """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: \(deployment ?? "\(service)-deployment"), namespace: \(namespace)}
        spec:
          replicas: 1
          selector:
            matchLabels: {\(labels)}
          template:
            metadata:
              labels: {\(labels)}
            spec:
              containers:
              - {name: \(service), image: example/\(service)}

        """
}
