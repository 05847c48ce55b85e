import MeshConfig
import MeshProxy
import MeshRouting
import NIOConcurrencyHelpers

/// The mesh every end-to-end benchmark runs: Deployments reviews-v1 and reviews-v2 (one
/// simulated pod each, no latency or error annotations, so the pods answer at once), a Service,
/// subsets v1/v2, and the header-routing VirtualService of `configs/header-routing`
/// (`x-user-group: beta` → v2, everyone else 95/5 v1/v2). `servicePort` names the Service
/// port: `http` gives HTTP/1.1 pods, `http2-web` makes the pods (and the proxy's upstream) h2c.
enum BenchmarkMesh {
    static let host = "reviews"
    static let path = "/api/reviews/1"

    static func yaml(servicePortName: String) -> String {
        var documents = """
            apiVersion: v1
            kind: Namespace
            metadata: {name: default, labels: {istio-injection: enabled}}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: reviews, namespace: default}
            spec:
              selector: {app: reviews}
              ports: [{name: \(servicePortName), port: 9080, targetPort: 9080}]
            ---
            apiVersion: networking.istio.io/v1
            kind: DestinationRule
            metadata: {name: reviews, namespace: default}
            spec:
              host: reviews
              subsets:
              - {name: v1, labels: {version: v1}}
              - {name: v2, labels: {version: v2}}
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
              - name: beta-users
                match: [{headers: {x-user-group: {exact: beta}}}]
                route: [{destination: {host: reviews, subset: v2}}]
              - name: canary
                route:
                - {destination: {host: reviews, subset: v1}, weight: 95}
                - {destination: {host: reviews, subset: v2}, weight: 5}

            """
        for version in ["v1", "v2"] {
            documents += """
                ---
                apiVersion: apps/v1
                kind: Deployment
                metadata: {name: reviews-\(version), namespace: default, labels: {app: reviews, version: \(version)}}
                spec:
                  replicas: 1
                  selector: {matchLabels: {app: reviews, version: \(version)}}
                  template:
                    metadata: {labels: {app: reviews, version: \(version)}}
                    spec:
                      containers:
                      - name: reviews
                        image: docker.io/istio/examples-bookinfo-reviews-\(version):1.20.1
                        ports: [{containerPort: 9080}]

                """
        }
        return documents
    }

    struct SetupError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the pods and a one-worker proxy on 127.0.0.1:0 (random split, seeded, as Envoy
    /// picks; no debug headers, as `scripts/bench-peers.sh` runs `serve`), and checks that the
    /// routes answer before anything is measured.
    static func start(servicePortName: String) async throws -> LocalMesh {
        let loaded = ConfigLoader().load(text: yaml(servicePortName: servicePortName), file: "proxy-benchmarks.yaml")
        if loaded.hasErrors {
            throw SetupError(description: "benchmark mesh does not load:\n" + loaded.errors.map(\.description).joined(separator: "\n"))
        }
        let configuration = ProxyConfiguration(host: "127.0.0.1", port: 0, workers: 1, split: .random(seed: 1), debugHeaders: false)
        let mesh = try await LocalMesh.start(resources: loaded.resources, proxy: configuration)
        do {
            try check(mesh)
        } catch {
            try? await mesh.stop()
            throw error
        }
        return mesh
    }

    /// The header rule reaches v2 and a plain request is answered 200 (so that the benchmark
    /// measures routed requests, not 404s or 503s). Over a raw socket with a timeout, so that a
    /// proxy that does not answer fails the setup instead of hanging it.
    private static func check(_ mesh: LocalMesh) throws {
        let request = "GET \(path) HTTP/1.1\r\nhost: \(host)\r\nconnection: close\r\n"
        let beta = try KeepAliveConnections.responseHead(
            to: request + "x-user-group: beta\r\n\r\n", host: "127.0.0.1", port: mesh.port)
        let betaLines = beta.lowercased().split(separator: "\r\n")
        guard betaLines.first?.hasPrefix("http/1.1 200") == true, betaLines.contains("x-meshsim-version: v2") else {
            throw SetupError(description: "x-user-group: beta was not answered 200 by v2:\n\(beta)")
        }
        let plain = try KeepAliveConnections.responseHead(to: request + "\r\n", host: "127.0.0.1", port: mesh.port)
        guard plain.lowercased().hasPrefix("http/1.1 200") else {
            throw SetupError(description: "a plain request was not answered 200:\n\(plain)")
        }
    }

    /// The address of the pod behind subset `subset`, for the direct-to-pod baselines.
    static func podAddress(_ mesh: LocalMesh, subset: String) throws -> EndpointAddress {
        let cluster = mesh.snapshot.clusters.first { $0.serviceName == "reviews" && $0.subset == subset }
        guard let address = cluster?.endpoints.first?.address else {
            throw SetupError(description: "no running pod in subset \(subset)")
        }
        return address
    }
}

/// What a benchmark's setup started and its teardown stops: setup and teardown hooks take no
/// arguments, so the running fixture waits here between them.
final class FixtureSlot<Value: Sendable>: Sendable {
    private let slot = NIOLockedValueBox<Value?>(nil)

    func store(_ value: Value) {
        slot.withLockedValue { $0 = value }
    }

    func current() throws -> Value {
        guard let value = slot.withLockedValue({ $0 }) else {
            throw BenchmarkMesh.SetupError(description: "the benchmark's setup did not run or failed")
        }
        return value
    }

    /// Empties the slot and hands back what it held, for the teardown to stop.
    func take() -> Value? {
        slot.withLockedValue { value in
            defer { value = nil }
            return value
        }
    }
}
