/// A string enum field from the Istio API. An unknown value is an error naming the allowed ones.
public protocol IstioEnum: RawRepresentable, Decodable, Sendable, Hashable, CaseIterable where RawValue == String {}

extension IstioEnum {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(rawValue: text) else {
            let allowed = Self.allCases.map(\.rawValue).joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown value \"\(text)\" (expected one of \(allowed))"))
        }
        self = value
    }
}

/// Istio's StringMatch: exactly one of exact, prefix or regex (RE2 syntax, full match).
public struct StringMatch: Decodable, Sendable, Hashable {
    public var exact: String?
    public var prefix: String?
    public var regex: String?

    public init(exact: String? = nil, prefix: String? = nil, regex: String? = nil) {
        self.exact = exact
        self.prefix = prefix
        self.regex = regex
    }

    /// How many of the oneof fields are set (Istio requires exactly one, except `{}` for presence).
    public var setCount: Int { [exact, prefix, regex].compactMap { $0 }.count }
    public var isEmpty: Bool { setCount == 0 }
}

/// A percentage 0–100 as a double (`value: 0.1` is one request in a thousand).
public struct Percent: Decodable, Sendable, Hashable {
    public var value: Double?
    public init(value: Double? = nil) { self.value = value }
}

/// A port by number (`port: {number: 9080}`).
public struct PortSelector: Decodable, Sendable, Hashable {
    public var number: UInt32?
    public init(number: UInt32? = nil) { self.number = number }
}

/// A destination service and, optionally, subset and port.
public struct Destination: Decodable, Sendable, Hashable {
    public var host: String?
    public var subset: String?
    public var port: PortSelector?

    public init(host: String? = nil, subset: String? = nil, port: PortSelector? = nil) {
        self.host = host
        self.subset = subset
        self.port = port
    }
}

/// Header manipulation: set, add, remove.
public struct HeaderOperations: Decodable, Sendable, Hashable {
    public var set: [String: String]?
    public var add: [String: String]?
    public var remove: [String]?
    public init(set: [String: String]? = nil, add: [String: String]? = nil, remove: [String]? = nil) {
        self.set = set
        self.add = add
        self.remove = remove
    }
}

public struct Headers: Decodable, Sendable, Hashable {
    public var request: HeaderOperations?
    public var response: HeaderOperations?
    public init(request: HeaderOperations? = nil, response: HeaderOperations? = nil) {
        self.request = request
        self.response = response
    }
}

/// `workloadSelector` of DestinationRule (matchLabels) and ServiceEntry (labels).
public struct WorkloadSelector: Decodable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var labels: [String: String]?
    public init(matchLabels: [String: String]? = nil, labels: [String: String]? = nil) {
        self.matchLabels = matchLabels
        self.labels = labels
    }
}

/// A protobuf Duration written the way Istio's YAML writes it (`10s`, `1.5s`, `300ms`, `1h30m`:
/// Go's time.ParseDuration syntax, of which protobuf's `<seconds>s` is a part).
public struct IstioDuration: Decodable, Sendable, Hashable, CustomStringConvertible {
    public var nanoseconds: Int64
    public var text: String

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
        self.text = "\(Double(nanoseconds) / 1e9)s"
    }

    public init?(parsing text: String) {
        guard let ns = IstioDuration.parse(text) else { return nil }
        self.nanoseconds = ns
        self.text = text
    }

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let ns = IstioDuration.parse(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid duration \"\(text)\" (expected e.g. 10s, 1.5s, 300ms, 1h30m)"))
        }
        self.nanoseconds = ns
        self.text = text
    }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
    public var milliseconds: Double { Double(nanoseconds) / 1e6 }
    public var description: String { text }

    static func parse(_ text: String) -> Int64? {
        var chars = Substring(text)
        var negative = false
        if chars.first == "-" || chars.first == "+" {
            negative = chars.first == "-"
            chars = chars.dropFirst()
        }
        if chars == "0" { return 0 }
        guard !chars.isEmpty else { return nil }
        var total: Double = 0
        while !chars.isEmpty {
            let number = chars.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", number.filter({ $0 == "." }).count <= 1, let value = Double(number) else { return nil }
            chars = chars.dropFirst(number.count)
            let unit = chars.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            chars = chars.dropFirst(unit.count)
            let scale: Double
            switch unit {
            case "ns": scale = 1
            case "us", "µs", "μs": scale = 1e3
            case "ms": scale = 1e6
            case "s": scale = 1e9
            case "m": scale = 60e9
            case "h": scale = 3600e9
            default: return nil
            }
            total += value * scale
        }
        guard total < 9.2e18 else { return nil }
        return Int64(total.rounded()) * (negative ? -1 : 1)
    }
}
