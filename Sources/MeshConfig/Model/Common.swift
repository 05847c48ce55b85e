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

    /// Go's time.ParseDuration, which Istio's protobuf reader applies to duration fields: signed
    /// sequence of decimal numbers with units (`ns`, `us`/`µs`/`μs`, `ms`, `s`, `m`, `h`), summed in
    /// exact nanoseconds; anything over the range of an Int64 is refused.
    static func parse(_ text: String) -> Int64? {
        var bytes = Array(text.utf8)[...]
        var negative = false
        if let sign = bytes.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            bytes = bytes.dropFirst()
        }
        if bytes.elementsEqual("0".utf8) { return 0 }
        guard !bytes.isEmpty else { return nil }
        let limit: UInt64 = 1 << 63
        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        var total: UInt64 = 0
        while let first = bytes.first {
            guard first == UInt8(ascii: ".") || isDigit(first) else { return nil }
            var whole: UInt64 = 0
            let wholeStart = bytes.count
            while let b = bytes.first, isDigit(b) {
                guard whole <= limit / 10 else { return nil }
                whole = whole * 10 + UInt64(b - UInt8(ascii: "0"))
                guard whole <= limit else { return nil }
                bytes = bytes.dropFirst()
            }
            let hasWhole = bytes.count != wholeStart
            var fraction: UInt64 = 0, scale: Double = 1, hasFraction = false
            if bytes.first == UInt8(ascii: ".") {
                bytes = bytes.dropFirst()
                var overflow = false
                while let b = bytes.first, isDigit(b) {
                    hasFraction = true
                    bytes = bytes.dropFirst()
                    if overflow { continue }
                    guard fraction <= (limit - 1) / 10, fraction * 10 + UInt64(b - UInt8(ascii: "0")) <= limit else {
                        overflow = true
                        continue
                    }
                    fraction = fraction * 10 + UInt64(b - UInt8(ascii: "0"))
                    scale *= 10
                }
            }
            guard hasWhole || hasFraction else { return nil }
            let unitBytes = bytes.prefix { !($0 == UInt8(ascii: ".") || isDigit($0)) }
            bytes = bytes.dropFirst(unitBytes.count)
            let unit: UInt64
            switch String(decoding: unitBytes, as: UTF8.self) {
            case "ns": unit = 1
            case "us", "µs", "μs": unit = 1_000
            case "ms": unit = 1_000_000
            case "s": unit = 1_000_000_000
            case "m": unit = 60_000_000_000
            case "h": unit = 3_600_000_000_000
            default: return nil
            }
            guard whole <= limit / unit else { return nil }
            var value = whole * unit
            if fraction > 0 {
                // Go adds the fraction through float64: exact to the nanosecond for every unit.
                value += UInt64(Double(fraction) * (Double(unit) / scale))
                guard value <= limit else { return nil }
            }
            total = total &+ value  // uint64 in Go too
            guard total <= limit else { return nil }
        }
        if negative { return total == limit ? Int64.min : -Int64(total) }
        return total <= limit - 1 ? Int64(total) : nil
    }
}
