import Foundation
import MeshConfig
import Testing

@testable import MeshRouting

/// The repository's configs/ directory, found from this file's path.
let configsDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("configs").path

struct FixtureError: Error, CustomStringConvertible {
    let description: String
}

/// Loads YAML text as the given file name; fails the test on any load error.
func resources(_ yaml: String, file: String = "test.yaml") throws -> MeshResources {
    let result = ConfigLoader().load(text: yaml, file: file)
    if result.hasErrors { throw FixtureError(description: result.errors.map(\.description).joined(separator: "\n")) }
    return result.resources
}

func snapshot(_ yaml: String, options: RoutingOptions = RoutingOptions(), addresses: [String: EndpointAddress] = [:]) throws -> RoutingSnapshot {
    try RoutingSnapshot(resources: resources(yaml), addresses: addresses, options: options)
}

/// Loads paths relative to configs/.
func snapshot(configs paths: String...) throws -> RoutingSnapshot {
    let result = ConfigLoader().load(paths: paths.map { "\(configsDirectory)/\($0)" })
    if result.hasErrors { throw FixtureError(description: result.errors.map(\.description).joined(separator: "\n")) }
    return try RoutingSnapshot(resources: result.resources)
}

extension RoutingSnapshot {
    /// Routes once with a fresh exact-mode picker and returns the decision.
    func decide(_ request: RouteRequest) -> RouteDecision {
        var picker = DestinationPicker(mode: .exact)
        return route(request, picker: &picker)
    }

    /// The cluster a request is forwarded to, nil when it is not forwarded.
    func clusterName(_ request: RouteRequest) -> String? {
        if case .forward(let forward) = decide(request) { return forward.cluster.name }
        return nil
    }

    /// The rule (`ns/name/rule`) that forwarded, redirected or answered, nil for no route.
    func ruleHeader(_ request: RouteRequest) -> String? {
        switch decide(request) {
        case .forward(let f): return f.route.headerValue
        case .redirect(_, _, let r), .directResponse(_, _, let r): return r.headerValue
        case .noRoute: return nil
        }
    }

    func isNoRoute(_ request: RouteRequest) -> Bool {
        if case .noRoute = decide(request) { return true }
        return false
    }
}

let reviewsFQDN = "reviews.default.svc.cluster.local"

/// A reviews Service with two v1 pods and one v2 pod, and a DestinationRule for v1/v2.
let reviewsWorkloads = """
    apiVersion: v1
    kind: Service
    metadata: {name: reviews, namespace: default}
    spec:
      selector: {app: reviews}
      ports: [{name: http, port: 9080}]
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reviews-v1, namespace: default}
    spec:
      replicas: 2
      template:
        metadata: {labels: {app: reviews, version: v1}}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: reviews-v2, namespace: default}
    spec:
      replicas: 1
      template:
        metadata: {labels: {app: reviews, version: v2}}
    ---
    apiVersion: networking.istio.io/v1
    kind: DestinationRule
    metadata: {name: reviews, namespace: default}
    spec:
      host: reviews
      subsets:
      - name: v1
        labels: {version: v1}
      - name: v2
        labels: {version: v2}

    """

/// The reviews workloads plus a VirtualService for host `reviews` with the given `http:` rules
/// (indented as list items under `http:`).
func reviewsSnapshot(http: String, options: RoutingOptions = RoutingOptions()) throws -> RoutingSnapshot {
    try snapshot(
        reviewsWorkloads + """
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: reviews, namespace: default}
            spec:
              hosts: [reviews]
              http:
            \(http)
            """, options: options)
}

func request(_ path: String = "/", authority: String = "reviews", method: String = "GET", headers: [(String, String)] = []) -> RouteRequest {
    RouteRequest(authority: authority, method: method, path: path, headers: headers)
}

func cluster(_ subset: String?, port: Int = 9080, host: String = reviewsFQDN) -> String {
    Cluster.name(host: host, subset: subset, port: port)
}
