import Foundation
import ArgumentParser
import MeshConfig
import MeshRouting

/// `meshsim route`: explains where one request goes, as the client's sidecar would route it.
struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Explain how one request is routed: the VirtualService and rule that match, the destinations and their shares.",
        discussion: """
            Examples:
              meshsim route -f configs/reviews -f configs/header-routing -H 'x-user-group: beta' /api
              meshsim route -f configs/broken-labels --output json GET /

            The status is what the client would get: 200 when forwarded, 404 (NR) when no rule \
            matches, 503 when a destination with a share of the traffic has no endpoint (UH: the \
            subset's labels select no workload; NC: no DestinationRule defines the subset). With \
            several weighted destinations, each one carries its own status, and the request's \
            status is 503 as soon as one of them, with a weight above 0, would fail. When no \
            workload is declared for a host (routing files alone), endpoints are not checked and \
            a note says so. JSON output: {"status", "responseFlags", "virtualService", "rule", \
            "destinations": [{"host", "subset", "weight", "fraction"}]}; a destination whose \
            cluster does not speak HTTP/1.1 to its pods also carries "upstreamProtocol" ("HTTP/2", \
            or "client protocol": from the port's protocol and the DestinationRule's \
            h2UpgradePolicy and useClientProtocol), a failing destination also carries "status" \
            and "responseFlags", and "notes" is added when there are any.

            A rule that mirrors (`mirror` with `mirrorPercentage`, or `mirrors`) lists where a copy \
            of the request goes and for what share of requests; the copy's answer is dropped, so it \
            never changes the status. In JSON: "mirrors": [{"host", "subset", "percentage"}] (a \
            mirror with no endpoint also carries "status" and "responseFlags"), present only when \
            the rule mirrors.

            A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) that the \
            matched rule's corsPolicy answers is shown as a direct response with status 200: the \
            sidecar answers it and forwards nothing. An upgrade other than websocket (Connection: \
            upgrade with Upgrade: X), and CONNECT, is the sidecar's 403.
            """)

    @OptionGroup var config: ConfigOptions
    @OptionGroup var client: ClientOptions

    @Option(name: .long, help: "Host or :authority of the request (default: the only host the files route).")
    var authority: String?

    @Option(name: [.customShort("X"), .long], help: "Request method.")
    var method: String?

    @Option(name: [.customShort("H"), .customLong("header")], help: "A request header, 'name: value'. Repeatable.")
    var headers: [String] = []

    @Option(name: .long, help: "Request scheme.")
    var scheme: String = "http"

    @Option(name: .long, help: "text or json.")
    var output: OutputFormat = .text

    @Argument(help: "[METHOD] REQUEST-PATH (the path may carry ?query).")
    var target: [String]

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func validate() throws {
        guard (1...2).contains(target.count) else { throw ValidationError("expected [METHOD] REQUEST-PATH") }
        if target.count == 2 && method != nil { throw ValidationError("give the method once: -X or before the path") }
    }

    func run() throws {
        let snapshot = try config.loadSnapshot(options: client.routingOptions())
        let request = RouteRequest(
            authority: try snapshot.authority(authority), method: method ?? (target.count == 2 ? target[0] : "GET"),
            path: target[target.count - 1], headers: try headers.map(Self.parseHeader), scheme: scheme)
        let explanation = snapshot.explain(request)
        let mirrors = Self.mirrors(of: request, in: snapshot)
        switch output {
        case .json: print(RouteJSON.render(explanation, mirrors: mirrors))
        case .text: print(RouteText.render(explanation, mirrors: mirrors, snapshot: snapshot))
        }
    }

    /// The mirrors of the rule `request` matches. The explanation does not carry them; every
    /// forward decision of a rule carries the rule's mirrors, so whichever destination the pick
    /// lands on gives the same list. Redirects, direct responses and no route mirror nothing.
    static func mirrors(of request: RouteRequest, in snapshot: RoutingSnapshot) -> [MirrorPolicy] {
        var picker = DestinationPicker(mode: .exact)
        guard case .forward(let forward) = snapshot.route(request, picker: &picker) else { return [] }
        return forward.mirrors
    }

    static func parseHeader(_ text: String) throws -> (String, String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw ValidationError("a header is 'name: value', got \"\(text)\"")
        }
        let name = text[..<colon].trimmingCharacters(in: .whitespaces)
        let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        return (name, value)
    }
}

/// The JSON form of an explanation, with a fixed key order.
enum RouteJSON {
    static func render(_ e: RouteExplanation, mirrors: [MirrorPolicy]) -> String {
        var fields: [(String, String)] = [
            ("status", "\(e.status)"), ("responseFlags", string(e.responseFlags)),
            ("virtualService", e.virtualService.map(string) ?? "null"),
            ("rule", e.rule.map { object([("index", "\($0.index)"), ("name", $0.name.map(string) ?? "null")]) } ?? "null"),
            ("destinations", "[" + e.destinations.map(destination).joined(separator: ", ") + "]"),
        ]
        if !mirrors.isEmpty { fields.append(("mirrors", "[" + mirrors.map(mirror).joined(separator: ", ") + "]")) }
        if case .redirect(let location) = e.action { fields.append(("location", string(location))) }
        if !e.notes.isEmpty { fields.append(("notes", "[" + e.notes.map(string).joined(separator: ", ") + "]")) }
        return object(fields)
    }

    static func destination(_ d: RouteExplanation.Destination) -> String {
        var fields: [(String, String)] = [
            ("host", string(d.host)), ("subset", d.subset.map(string) ?? "null"), ("weight", "\(d.weight)"), ("fraction", "\(d.fraction)"),
        ]
        if d.upstreamProtocol != .http1 { fields.append(("upstreamProtocol", string(d.upstreamProtocol.rawValue))) }
        if d.status != 200 {
            fields += [("status", "\(d.status)"), ("responseFlags", string(d.responseFlags))]
        }
        return object(fields)
    }

    static func mirror(_ m: MirrorPolicy) -> String {
        var fields: [(String, String)] = [
            ("host", string(m.cluster.host)), ("subset", m.cluster.subset.map(string) ?? "null"), ("percentage", "\(m.percentage)"),
        ]
        if let flag = m.cluster.state.responseFlag {
            fields += [("status", "503"), ("responseFlags", string(flag))]
        }
        return object(fields)
    }

    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    /// `text` as a JSON string literal, escaped by Foundation's encoder (slashes left alone).
    static func string(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding a String cannot fail (only non-finite numbers do); the fallback is never used.
        guard let data = try? encoder.encode(text) else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }
}

/// The human form of an explanation.
enum RouteText {
    static func render(_ e: RouteExplanation, mirrors: [MirrorPolicy], snapshot: RoutingSnapshot) -> String {
        var lines = ["\(e.method) \(e.path)  (authority \(e.authority))"]
        func row(_ label: String, _ value: String) { lines.append("  " + label.padding(toLength: 16, withPad: " ", startingAt: 0) + value) }
        row("virtual host", e.virtualHost ?? "none")
        if let name = e.virtualService {
            let info = snapshot.virtualServices.first { $0.name == name }
            row("VirtualService", name + (info.map { "  (\($0.file):\($0.line))" } ?? ""))
        } else if e.virtualHost != nil {
            row("VirtualService", "none: Istio's default route to the whole service")
        }
        for skipped in e.skippedRules {
            row("skipped", "rule \(skipped.index)\(skipped.name.map { " \"\($0)\"" } ?? ""): \(skipped.reason)")
        }
        if let rule = e.rule {
            row("rule", "\(rule.index)\(rule.name.map { " \"\($0)\"" } ?? "")")
            if let index = e.matchIndex {
                row("match", "match[\(index)]\(e.matchName.map { " \"\($0)\"" } ?? ""): \(e.matchConditions ?? "")")
            } else {
                row("match", "no match conditions (every request)")
            }
        }
        switch e.action {
        case .forward:
            lines.append("  destinations")
            for d in e.destinations {
                let target = d.subset.map { "\(d.host) subset \($0)" } ?? d.host
                var line = "    \(target)  port \(d.port)  weight \(d.weight)  \(percent(d.fraction))"
                switch d.state {
                case .ready:
                    line += "  endpoints: \(d.endpoints.joined(separator: ", "))"
                    switch d.upstreamProtocol {
                    case .http1: break
                    case .http2: line += "  over HTTP/2"
                    case .client: line += "  over the client's protocol"
                    }
                case .unchecked: line += "  endpoints: not checked"
                case .noHealthyUpstream, .undefinedSubset: line += "  → \(d.status) \(d.responseFlags)"
                }
                lines.append(line)
            }
            if !mirrors.isEmpty {
                lines.append("  mirrors (a copy of the request; its answer is dropped, the client never sees it)")
                lines += mirrors.map(mirrorLine)
            }
        case .redirect(let location):
            row("redirect", location)
        case .directResponse(let body):
            row("direct response", body.map { "body \"\($0)\"" } ?? "no body")
        case .noRoute:
            break
        }
        row("result", "\(e.status) \(e.responseFlags)")
        for note in e.notes { row("note", note) }
        return lines.joined(separator: "\n")
    }

    static func mirrorLine(_ m: MirrorPolicy) -> String {
        let cluster = m.cluster
        let target = cluster.subset.map { "\(cluster.host) subset \($0)" } ?? cluster.host
        var line = "    \(target)  port \(cluster.port)  \(percent(m.percentage / 100)) of requests"
        switch cluster.state {
        case .ready: line += "  endpoints: \(cluster.endpoints.map(\.workload.name).joined(separator: ", "))"
        case .unchecked: line += "  endpoints: not checked"
        // Envoy skips a shadow cluster that does not exist; one without endpoints fails the copy alone.
        case .undefinedSubset: line += "  → no copy: no DestinationRule defines the subset (NC)"
        case .noHealthyUpstream: line += "  → the copy gets 503 UH (the client does not see it)"
        }
        return line
    }

    static func percent(_ fraction: Double) -> String {
        let value = fraction * 100
        if value == value.rounded() { return "\(Int(value))%" }
        return "\((value * 100).rounded() / 100)%"
    }
}
