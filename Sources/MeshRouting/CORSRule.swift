import MeshConfig

/// A rule's `corsPolicy` as Envoy's CORS filter applies it: Istio writes it per route
/// (`TranslateCORSPolicy` in route.go: origins as string matchers, the lists joined with ",",
/// `maxAge` in whole seconds, `unmatchedPreflights: IGNORE` as `forward_not_matching_preflights:
/// false`, the filter enabled for every request). The proxy answers a preflight from it and
/// stamps the `access-control-*` fields on the answers to an allowed origin.
public struct CORSRule: Sendable {
    let allowOrigins: [ByteMatcher]
    public let allowMethods: String
    public let allowHeaders: String
    public let exposeHeaders: String
    /// Seconds, as text; empty when unset.
    public let maxAge: String
    public let allowCredentials: Bool
    /// A preflight from an origin the rule does not allow goes upstream (true: Istio's default,
    /// `FORWARD`) or is answered 200 without `access-control-allow-origin` (`IGNORE`).
    public let forwardNotMatchingPreflights: Bool

    /// Envoy's `isOriginAllowed`: an allowed-origin matcher that matches `*` allows every origin.
    public func allows(origin: String) -> Bool {
        allowOrigins.contains { $0.matches("*") || $0.matches(origin) }
    }

    /// nil when the rule has no `corsPolicy`; a bad origin regex is reported and left out.
    init?(_ policy: CorsPolicy?, field: FieldPath, resource: VirtualService, diagnostics: inout [ConfigDiagnostic]) {
        guard let policy else { return nil }
        if let origins = policy.allowOrigins {
            allowOrigins = origins.enumerated().compactMap { index, match in
                ByteMatcher.compile(match, field: (field / "allowOrigins").index(index), resource: resource, diagnostics: &diagnostics)
            }
        } else {
            // The deprecated `allowOrigin` list: exact origins.
            allowOrigins = (policy.allowOrigin ?? []).map { .exact(Array($0.utf8), ignoringCase: false) }
        }
        allowMethods = (policy.allowMethods ?? []).joined(separator: ",")
        allowHeaders = (policy.allowHeaders ?? []).joined(separator: ",")
        exposeHeaders = (policy.exposeHeaders ?? []).joined(separator: ",")
        maxAge = policy.maxAge.map { String($0.nanoseconds / 1_000_000_000) } ?? ""
        allowCredentials = policy.allowCredentials ?? false
        forwardNotMatchingPreflights = policy.unmatchedPreflights != .ignore
    }
}
