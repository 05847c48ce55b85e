import MeshConfig

/// A route's header operations (`headers.request` or `headers.response`, route level and
/// destination level) as the ordered steps Envoy runs, built as Istio translates them
/// (`TranslateHeadersOperations`, `processDestination`, `processWeightedDestination` in
/// pilot/pkg/networking/core/route/route.go):
/// - within one level, `set` entries (sorted by name, overwriting) come before `add` entries
///   (sorted, appending), and Envoy runs a level's removals before its additions
///   (HeaderParser::evaluateHeaders);
/// - one destination: Istio appends the destination's operations to the route's, so they form
///   one level (the destination's `set` applies last and wins, both `add`s append);
/// - several destinations: the picked destination's operations sit on its weighted cluster,
///   which Envoy applies before the route's (no `most_specific_header_mutations_wins`), so a
///   route-level `set` or `remove` wins over a destination-level one;
/// - `:authority` and `host` are not headers to Envoy: Istio drops them from the operations (and
///   any other `:`-prefixed name) and, for requests, turns their value into the host rewrite.
public struct HeaderMutations: Sendable, Hashable {
    public enum Step: Sendable, Hashable {
        case remove(String)
        /// Replace every value of the header, or add it.
        case set(String, String)
        /// Add a value, keeping the ones there.
        case append(String, String)
    }

    public let steps: [Step]

    public var isEmpty: Bool { steps.isEmpty }

    init(steps: [Step]) { self.steps = steps }

    /// nil when there is nothing to do.
    static func build(route: HeaderOperations?, destination: HeaderOperations?, weighted: Bool) -> HeaderMutations? {
        var steps: [Step] = []
        if weighted {
            steps = level([destination]) + level([route])
        } else {
            steps = level([route, destination])
        }
        return steps.isEmpty ? nil : HeaderMutations(steps: steps)
    }

    /// One Envoy level made of these operations, in order: every removal, then each one's sets
    /// and adds.
    private static func level(_ operations: [HeaderOperations?]) -> [Step] {
        var removals: [Step] = []
        var additions: [Step] = []
        for operation in operations {
            guard let operation else { continue }
            removals += (operation.remove ?? []).filter { !isInternal($0) }.map { .remove($0.lowercased()) }
            additions += (operation.set ?? [:]).filter { !isInternal($0.key) }.sorted { $0.key < $1.key }.map { .set($0.key, $0.value) }
            additions += (operation.add ?? [:]).filter { !isInternal($0.key) }.sorted { $0.key < $1.key }.map { .append($0.key, $0.value) }
        }
        return removals + additions
    }

    /// Istio's isInternalHeader: pseudo-headers and `host` cannot be set as headers.
    static func isInternal(_ name: String) -> Bool {
        name.hasPrefix(":") || name.lowercased() == "host"
    }

    /// The authority a level's operations ask for (`:authority` or `host`; `set` beats `add`),
    /// as TranslateHeadersOperations reads it.
    static func authority(_ operations: HeaderOperations?) -> String? {
        func find(_ entries: [String: String]?) -> String? {
            (entries ?? [:]).sorted { $0.key < $1.key }.last { ($0.key.lowercased() == ":authority" || $0.key.lowercased() == "host") && !$0.value.isEmpty }?.value
        }
        return find(operations?.set) ?? find(operations?.add)
    }
}
