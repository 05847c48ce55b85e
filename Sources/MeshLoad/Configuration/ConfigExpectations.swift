import MeshConfig
import MeshRouting

extension LoadConfiguration {
    /// Whether some header or option sets the authority (otherwise the URL's is used).
    var hasExplicitAuthority: Bool {
        authority != nil || commonHeaders.contains { $0.name.lowercased() == "host" }
    }

    /// The headers a class's requests carry, as routing sees them: the common ones, then the
    /// class's own (which win by name), without Host (that is the authority).
    func routedHeaders(for requestClass: RequestClass) -> [(String, String)] {
        let own = Set(requestClass.headers.map { $0.name.lowercased() })
        let common = commonHeaders.filter { !own.contains($0.name.lowercased()) }
        return (requestClass.headers + common)
            .filter { $0.name.lowercased() != "host" }
            .map { ($0.name, $0.value) }
    }

    /// Fills in the expected shares of every class that has none of its own, from what the
    /// configuration routes that class's requests to (`RoutingSnapshot.explain`): the weights of
    /// the matched rule's destinations, keyed by subset (by host for a destination without one).
    ///
    /// When nothing sets the authority and the snapshot routes exactly one host, that host becomes
    /// the authority of the requests too (the URL is then usually the proxy's address), as
    /// `meshsim route` does. A class whose requests the configuration does not forward (no route,
    /// a redirect or a direct response) is an error naming the class and the reason.
    public func withExpectations(from snapshot: RoutingSnapshot) throws -> LoadConfiguration {
        var configured = self
        let hosts = snapshot.hosts.filter { !HostName.isWildcard($0) }
        if !hasExplicitAuthority, hosts.count == 1, let only = hosts.first,
            configured.classes.contains(where: { $0.hostHeader == nil && $0.expected == nil })
        {
            configured.authority = only
        }
        for index in configured.classes.indices where configured.classes[index].expected == nil {
            let requestClass = configured.classes[index]
            let request = RouteRequest(
                authority: configured.authority(for: requestClass), method: requestClass.method, path: requestClass.path,
                headers: configured.routedHeaders(for: requestClass))
            configured.classes[index].expected = try Self.expectation(for: request, className: requestClass.name, from: snapshot)
        }
        return configured
    }

    static func expectation(for request: RouteRequest, className: String, from snapshot: RoutingSnapshot) throws -> ExpectedShares {
        let explanation = snapshot.explain(request)
        let what = "request class \(className) (\(request.method) \(request.path), authority \(request.authority))"
        switch explanation.action {
        case .forward:
            break
        case .noRoute:
            let hint = explanation.virtualHost == nil ? "; set the authority with --authority or -H 'Host: NAME'" : ""
            throw LoadInputError("\(what): the configs give it no route (404 NR)\(hint)")
        case .redirect(let location):
            throw LoadInputError("\(what): the configs answer it with a redirect to \(location), not a destination")
        case .directResponse:
            throw LoadInputError("\(what): the configs answer it with a direct response (\(explanation.status)), not a destination")
        }
        // Several destinations may share a subset name (two hosts, one subset each): their weights add up.
        var order: [String] = []
        var weights: [String: Double] = [:]
        for destination in explanation.destinations {
            let key = destination.subset ?? destination.host
            if weights[key] == nil { order.append(key) }
            weights[key, default: 0] += Double(destination.weight)
        }
        let rule = explanation.rule.map { $0.name ?? "#\($0.index)" }
        let source =
            explanation.virtualService.map { "configs: \($0) rule \(rule ?? "?")" } ?? "configs: default route of \(explanation.virtualHost ?? request.authority)"
        do {
            return try ExpectedShares(entries: order.map { ExpectedShares.Entry(subset: $0, weight: weights[$0] ?? 0) }, source: source)
        } catch let error as LoadInputError {
            throw LoadInputError("\(what): \(error.message)")
        }
    }
}
