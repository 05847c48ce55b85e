import Foundation
import MeshConfig
import MeshRouting
import Yams

// The CASES.yaml format of `meshsim test` (see scenarios/route-tests.yaml):
//
//   tests:
//   - name: beta users reach v2            # required
//     request:
//       authority: reviews                 # optional when the configuration routes one host
//       method: GET                        # default GET
//       path: /api?x=1                     # default /
//       scheme: http                       # default http
//       headers: {x-user-group: beta}      # optional
//     expect:                              # at least one of:
//       status: 200                        # what the client gets (404 no route, 503 no endpoint)
//       responseFlags: "-"                 # "-", NR, UH, NC
//       virtualService: default/reviews    # or "" for Istio's default route
//       rule: beta-users                   # the rule's name, or its index
//       host: reviews                      # every destination taking traffic is this host (short names resolve in the client namespace)
//       subset: v2                         # all the traffic goes to this subset
//       fractions: {v1: 0.95, v2: 0.05}    # the share of each subset (those not listed must get none), ±0.0001
//
// Unknown fields are errors, reported with their line, as in Istio configuration.

struct RouteTestFile: Decodable {
    var tests: [RouteTestCase]
}

struct RouteTestCase: Decodable {
    var name: String
    var request: RequestSpec?
    var expect: Expectation

    struct RequestSpec: Decodable {
        var authority: String?
        var method: String?
        var path: String?
        var scheme: String?
        var headers: [String: String]?
    }

    struct Expectation: Decodable {
        var status: Int?
        var responseFlags: String?
        var virtualService: String?
        var rule: RuleSelector?
        var host: String?
        var subset: String?
        var fractions: [String: Double]?

        var isEmpty: Bool {
            status == nil && responseFlags == nil && virtualService == nil && rule == nil && host == nil && subset == nil
                && fractions == nil
        }
    }

    /// A rule by name (`beta-users`) or index (`0`).
    enum RuleSelector: Decodable, CustomStringConvertible {
        case index(Int)
        case name(String)

        init(from decoder: Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let index = try? container.decode(Int.self) {
                self = .index(index)
            } else {
                self = .name(try container.decode(String.self))
            }
        }

        func matches(_ rule: RouteExplanation.Rule?) -> Bool {
            guard let rule else { return false }
            switch self {
            case .index(let i): return rule.index == i
            case .name(let n): return rule.name == n || String(rule.index) == n
            }
        }

        var description: String {
            switch self {
            case .index(let i): return "\(i)"
            case .name(let n): return n
            }
        }
    }
}

enum RouteTestLoading {
    /// Reads and strictly decodes a CASES.yaml; problems carry file:line.
    static func load(_ path: String) -> Result<[(RouteTestCase, line: Int)], ConfigDiagnostic> {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            return .failure(ConfigDiagnostic(severity: .error, file: path, line: nil, message: "cannot read the test file"))
        }
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return .failure(ConfigDiagnostic(severity: .error, file: path, line: nil, message: "the test file is empty"))
            }
            let file = try NodeDecoder().decode(RouteTestFile.self, from: node)
            let items = node.mapping?["tests"]?.sequence.map { Array($0) } ?? []
            var cases: [(RouteTestCase, line: Int)] = []
            for (i, test) in file.tests.enumerated() {
                let line = i < items.count ? (items[i].mark?.line ?? 1) : 1
                if test.expect.isEmpty {
                    return .failure(ConfigDiagnostic(severity: .error, file: path, line: line, field: ["tests", .index(i), "expect"], message: "the case \"\(test.name)\" expects nothing"))
                }
                cases.append((test, line))
            }
            return .success(cases)
        } catch let failure as DecodeFailure {
            return .failure(ConfigDiagnostic(severity: .error, file: path, line: failure.line, field: failure.path, message: failure.message))
        } catch {
            return .failure(ConfigDiagnostic(severity: .error, file: path, line: nil, message: "invalid YAML: \(error)"))
        }
    }
}

extension RouteTestCase {
    /// The request of the case; `defaultAuthority` fills a missing authority.
    func routeRequest(defaultAuthority: () throws -> String) throws -> RouteRequest {
        RouteRequest(
            authority: try request?.authority ?? defaultAuthority(), method: request?.method ?? "GET", path: request?.path ?? "/",
            headers: (request?.headers ?? [:]).sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, scheme: request?.scheme ?? "http")
    }

    /// Every expectation the explanation does not meet, in words (empty when the case passes).
    func failures(_ e: RouteExplanation, clientNamespace: String) -> [String] {
        var out: [String] = []
        if let status = expect.status, status != e.status { out.append("status: expected \(status), got \(e.status)") }
        if let flags = expect.responseFlags, flags != e.responseFlags { out.append("responseFlags: expected \(flags), got \(e.responseFlags)") }
        if let vs = expect.virtualService, vs != (e.virtualService ?? "") {
            out.append("virtualService: expected \(vs.isEmpty ? "none" : vs), got \(e.virtualService ?? "none")")
        }
        if let rule = expect.rule, !rule.matches(e.rule) {
            out.append("rule: expected \(rule), got \(e.rule.map { "\($0.index)\($0.name.map { " (\($0))" } ?? "")" } ?? "none")")
        }
        let taking = e.destinations.filter { $0.fraction > 0 }
        if let host = expect.host {
            let expected = HostName.fullyQualified(host, namespace: clientNamespace).lowercased()
            let hosts = Set(taking.map(\.host))
            if taking.isEmpty || hosts != [expected] {
                out.append("host: expected \(expected), got \(taking.isEmpty ? "no destination" : hosts.sorted().joined(separator: ", "))")
            }
        }
        let shares = Self.shares(taking)
        if let subset = expect.subset, shares != [subset: 1] {
            out.append("subset: expected all traffic on \(subset), got \(Self.describe(shares))")
        }
        if let fractions = expect.fractions {
            let keys = Set(fractions.keys).union(shares.keys)
            let wrong = keys.filter { abs((fractions[$0] ?? 0) - (shares[$0] ?? 0)) > 0.0001 }
            if !wrong.isEmpty {
                out.append("fractions: expected \(Self.describe(fractions)), got \(Self.describe(shares))")
            }
        }
        return out
    }

    /// Share of traffic per subset ("-" for a destination without subset).
    static func shares(_ destinations: [RouteExplanation.Destination]) -> [String: Double] {
        var out: [String: Double] = [:]
        for d in destinations { out[d.subset ?? "-", default: 0] += d.fraction }
        return out
    }

    static func describe(_ shares: [String: Double]) -> String {
        if shares.isEmpty { return "no destination" }
        return "{" + shares.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
    }
}
