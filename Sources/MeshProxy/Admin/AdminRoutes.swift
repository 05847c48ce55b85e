import Foundation
import MeshConfig
import NIOHTTP1

/// What each admin path answers. Reads go to the proxy's merged stats and the controller's
/// state; writes go through `ConfigController`, the one path every config change takes.
struct AdminRoutes: Sendable {
    let controller: ConfigController

    private enum Endpoint: String, CaseIterable {
        case index = "/"
        case prometheus = "/stats/prometheus"
        case stats = "/stats"
        case configDump = "/config_dump"
        case clusters = "/clusters"
        case ready = "/ready"
        case revisions = "/config/revisions"
        case config = "/config"
        case rollback = "/config/rollback"

        var method: HTTPMethod {
            switch self {
            case .config, .rollback: return .POST
            default: return .GET
            }
        }

        var help: String {
            switch self {
            case .index: return "this list"
            case .prometheus: return "Istio's and Envoy's metrics in Prometheus text format"
            case .stats: return "counters and gauges as Envoy's name: value lines"
            case .configDump: return "the running revision as JSON: sources, virtual hosts, clusters, last reload status"
            case .clusters: return "clusters and endpoints with their state (?format=json for JSON)"
            case .ready: return "200 LIVE while serving"
            case .revisions: return "the kept revisions, as JSON"
            case .config: return "apply YAML (kubectl apply): 200 with the new revision, 400 with file:line errors"
            case .rollback: return "apply the previous revision again (?revision=N for another kept one)"
            }
        }
    }

    func respond(to request: AdminRequest) async -> AdminResponse {
        guard let endpoint = Endpoint(rawValue: request.path) else {
            return .text("no such admin path: \(request.path) (GET / lists them)\n", status: .notFound)
        }
        let allowed = endpoint.method == .GET ? [HTTPMethod.GET, .HEAD] : [endpoint.method]
        guard allowed.contains(request.method) else {
            var response = AdminResponse.text("\(request.path) takes \(endpoint.method.rawValue)\n", status: .methodNotAllowed)
            response.headers.append(("allow", allowed.map(\.rawValue).joined(separator: ", ")))
            return response
        }
        switch endpoint {
        case .index:
            let lines = Endpoint.allCases.map { "\($0.method.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \($0.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \($0.help)" }
            return .text("meshsim admin\n\n" + lines.joined(separator: "\n") + "\n")
        case .prometheus:
            let stats = await controller.mesh.proxy.collectStats()
            var response = AdminResponse.text(PrometheusExposition(stats: stats, snapshot: controller.mesh.snapshot, sourceNamespace: controller.namespace).render())
            response.contentType = "text/plain; version=0.0.4; charset=utf-8"
            return response
        case .stats:
            let stats = await controller.mesh.proxy.collectStats()
            let listener = controller.mesh.proxy.localAddress
            return .text(EnvoyStatsText(stats: stats, listenerName: "\(listener.ipAddress ?? "0.0.0.0")_\(listener.port ?? 0)").render())
        case .configDump:
            let revision = await controller.current
            let status = await controller.status
            return .json(ConfigDump(revision: revision, status: status, snapshot: controller.mesh.snapshot).json())
        case .clusters:
            let stats = await controller.mesh.proxy.collectStats()
            let report = ClustersReport(snapshot: controller.mesh.snapshot, stats: stats)
            return request.query["format"] == "json" ? .json(report.json()) : .text(report.text())
        case .ready:
            return .text("LIVE\n")
        case .revisions:
            let revisions = await controller.revisions
            let current = await controller.current.number
            return .json(ConfigDump.revisionsJSON(revisions, current: current))
        case .config:
            switch Self.sources(of: request) {
            case .success(let sources):
                return Self.answer(await controller.apply(sources), status: await controller.status)
            case .failure(let problem):
                let result = ConfigChangeResult(result: .rejected, revision: await controller.current.number, errors: [problem], warnings: [])
                return .json(result.json(), status: .badRequest)
            }
        case .rollback:
            var target: Int? = nil
            if let text = request.query["revision"] {
                guard let number = Int(text) else {
                    return .text("revision: expected a number, got \"\(text)\"\n", status: .badRequest)
                }
                target = number
            }
            return Self.answer(await controller.rollback(to: target), status: await controller.status)
        }
    }

    /// `POST /config` takes YAML (or JSON resources) as is, named by `?name=`, or, with
    /// `content-type: application/json` and a `files` key, several named documents at once (what
    /// `meshsim apply` sends, so that errors point at each file's own lines).
    static func sources(of request: AdminRequest) -> Result<[ConfigSource], ConfigDiagnostic> {
        func problem(_ message: String) -> ConfigDiagnostic {
            ConfigDiagnostic(severity: .error, file: "<request>", line: nil, message: message)
        }
        let type = request.headers.first(name: "content-type")?.lowercased() ?? ""
        if type.hasPrefix("application/json") && request.bodyText.contains("\"files\"") {
            guard let upload = try? JSONDecoder().decode(ConfigUpload.self, from: Data(request.bodyText.utf8)) else {
                return .failure(problem("the upload is not {\"files\": [{\"name\": …, \"content\": …}]}"))
            }
            guard !upload.files.isEmpty else { return .failure(problem("the upload names no files")) }
            return .success(upload.files.map { ConfigSource(name: $0.name, content: $0.content) })
        }
        let body = request.bodyText
        guard !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            return .failure(problem("the request has no body: send the YAML to apply"))
        }
        return .success([ConfigSource(name: request.query["name"] ?? "<request>", content: body)])
    }

    private static func answer(_ outcome: ApplyOutcome, status: ReloadStatus) -> AdminResponse {
        switch outcome {
        case .applied(let revision):
            return .json(ConfigChangeResult(result: .applied, revision: revision.number, errors: [], warnings: status.warnings).json())
        case .unchanged(let revision):
            return .json(ConfigChangeResult(result: .unchanged, revision: revision.number, errors: [], warnings: status.warnings).json())
        case .rejected(let errors, let revision):
            return .json(ConfigChangeResult(result: .rejected, revision: revision, errors: errors, warnings: []).json(), status: .badRequest)
        }
    }
}
