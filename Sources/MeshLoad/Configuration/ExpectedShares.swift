/// The share of answers each subset should receive, as relative weights (Istio's semantics:
/// `weight / sum`), plus where they came from, for the report.
public struct ExpectedShares: Sendable, Hashable, Codable {
    public struct Entry: Sendable, Hashable, Codable {
        public var subset: String
        public var weight: Double

        public init(subset: String, weight: Double) {
            self.subset = subset
            self.weight = weight
        }
    }

    /// In the order given; subsets are unique.
    public private(set) var entries: [Entry]
    /// "--expect", "mix file", or the route of the config that produced them.
    public var source: String

    /// Weights must be finite, non-negative, not all zero, with unique subset names.
    public init(entries: [Entry], source: String) throws {
        var seen = Set<String>()
        for entry in entries {
            guard !entry.subset.isEmpty else { throw LoadInputError("\(source): empty subset name") }
            guard seen.insert(entry.subset).inserted else { throw LoadInputError("\(source): subset \"\(entry.subset)\" given twice") }
            guard entry.weight.isFinite, entry.weight >= 0 else {
                throw LoadInputError("\(source): share of \"\(entry.subset)\" must be a non-negative number, not \(entry.weight)")
            }
        }
        guard entries.contains(where: { $0.weight > 0 }) else { throw LoadInputError("\(source): every share is zero") }
        self.entries = entries
        self.source = source
    }

    /// Shares written by a person (`--expect`, a mix file): percentages summing to 100, or
    /// fractions summing to 1. Anything else is almost surely a typo (95+15), so it is refused
    /// rather than silently normalized.
    public init(userShares entries: [Entry], source: String) throws {
        try self.init(entries: entries, source: source)
        let sum = entries.reduce(0) { $0 + $1.weight }
        let isPercent = abs(sum - 100) < 1e-6
        let isFraction = abs(sum - 1) < 1e-9
        guard isPercent || isFraction else {
            throw LoadInputError("\(source): shares sum to \(Self.format(sum)); they must sum to 100 (percent) or 1 (fractions)")
        }
    }

    /// Parses `v1=95,v2=5` (spaces around items allowed).
    public init(parsing text: String, source: String = "--expect") throws {
        var entries: [Entry] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = item.trimmingSpaces()
            let parts = trimmed.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw LoadInputError("\(source): \"\(trimmed)\" is not SUBSET=SHARE (e.g. --expect v1=95,v2=5)")
            }
            let name = parts[0].trimmingSpaces()
            let valueText = parts[1].trimmingSpaces()
            guard let value = Double(valueText) else {
                throw LoadInputError("\(source): share of \"\(name)\" is not a number: \"\(valueText)\"")
            }
            entries.append(Entry(subset: name, weight: value))
        }
        try self.init(userShares: entries, source: source)
    }

    public var totalWeight: Double { entries.reduce(0) { $0 + $1.weight } }

    /// The fraction of answers expected for `subset` (0 for a subset not listed).
    public func fraction(of subset: String) -> Double {
        guard let entry = entries.first(where: { $0.subset == subset }) else { return 0 }
        return entry.weight / totalWeight
    }

    /// The weight sum when every weight is a whole number: the window of requests after which a
    /// proxy in exact (smooth weighted round-robin) mode has given each subset its exact share.
    public var integerWeightSum: Int? {
        var sum = 0
        for entry in entries {
            guard entry.weight == entry.weight.rounded(), entry.weight < 1e9 else { return nil }
            sum += Int(entry.weight)
        }
        return sum
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
