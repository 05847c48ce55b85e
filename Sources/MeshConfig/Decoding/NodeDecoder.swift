import Yams

/// A decoding failure: what was wrong, where in the document (field path) and on which line.
public struct DecodeFailure: Error, Sendable, CustomStringConvertible {
    public var path: FieldPath
    public var line: Int?
    public var message: String

    public init(path: FieldPath, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        path.isEmpty ? message : "\(path): \(message)"
    }
}

/// Types whose unknown fields are ignored rather than rejected (Kubernetes objects, which meshsim
/// reads only in part). Everything else is decoded strictly, as Istio's schema is.
public protocol LenientlyDecoded: Decodable {}

/// Decodes `Decodable` values from a Yams node tree, strictly: a field the type does not
/// declare is an error naming its path and line, like Istio's schema validation.
public struct NodeDecoder {
    /// Upper bound on nodes visited per decode; YAML aliases can expand a small file into a huge tree.
    public var nodeBudget: Int = 2_000_000

    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from node: Node, at path: FieldPath = .root) throws -> T {
        let state = DecodingState(budget: nodeBudget)
        let decoder = NodeDecoding(node: node, path: path, state: state, lenient: T.self is LenientlyDecoded.Type)
        do {
            return try T(from: decoder)
        } catch let failure as DecodeFailure {
            throw failure
        } catch let error as DecodingError {
            throw Self.failure(from: error, line: node.mark?.line)
        }
    }

    /// Turns a `DecodingError` thrown by a type's own `init(from:)` into a failure at the node
    /// being decoded (its coding path is already absolute, since ours is built from the full path).
    static func failure(from error: DecodingError, line: Int?) -> DecodeFailure {
        let context: DecodingError.Context
        let message: String
        switch error {
        case .typeMismatch(let type, let c):
            context = c
            message = "expected \(typeName(type)): \(c.debugDescription)"
        case .valueNotFound(let type, let c):
            context = c
            message = "missing value of type \(typeName(type))"
        case .keyNotFound(let key, let c):
            context = c
            message = "missing required field \(key.stringValue)"
        case .dataCorrupted(let c):
            context = c
            message = c.debugDescription
        @unknown default:
            return DecodeFailure(path: .root, line: line, message: "\(error)")
        }
        return DecodeFailure(path: FieldPath(context.codingPath.map(PathComponent.init)), line: line, message: message)
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type, is Int32.Type, is Int64.Type: return "an integer"
        case is UInt32.Type, is UInt64.Type, is UInt.Type: return "a non-negative integer"
        default: return "\(type)"
        }
    }
}

extension PathComponent {
    init(_ key: CodingKey) {
        if let i = key.intValue, key.stringValue.hasPrefix("Index ") || key.stringValue == "\(i)" {
            self = .index(i)
        } else {
            self = .key(key.stringValue)
        }
    }
}

final class DecodingState {
    var remaining: Int
    init(budget: Int) { remaining = budget }

    func visit(_ path: FieldPath, _ node: Node) throws {
        remaining -= 1
        if remaining < 0 {
            throw DecodeFailure(path: path, line: node.mark?.line, message: "document too large (too many nodes, or aliases expanding without bound)")
        }
    }
}

struct IndexKey: CodingKey {
    var stringValue: String { "\(index)" }
    var intValue: Int? { index }
    let index: Int
    init(_ index: Int) { self.index = index }
    init?(stringValue: String) { guard let i = Int(stringValue) else { return nil }; index = i }
    init?(intValue: Int) { index = intValue }
}

struct NodeDecoding: Decoder {
    let node: Node
    let path: FieldPath
    let state: DecodingState
    let lenient: Bool

    var codingPath: [CodingKey] { path.components.map(PathCodingKey.init) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func fail(_ message: String, at node: Node? = nil, path: FieldPath? = nil) -> DecodeFailure {
        DecodeFailure(path: path ?? self.path, line: (node ?? self.node).mark?.line, message: message)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .mapping(let mapping) = resolved(node) else {
            throw fail("expected a mapping (object), found \(describe(node))")
        }
        var entries: [String: (key: Node, value: Node)] = [:]
        entries.reserveCapacity(mapping.count)
        for (keyNode, valueNode) in try mergingKeys(of: mapping) {
            guard case .scalar(let scalar) = resolved(keyNode) else {
                throw fail("mapping keys must be strings", at: keyNode)
            }
            let name = scalar.string
            if entries[name] != nil {
                throw fail("duplicate field \(name)", at: keyNode, path: path.key(name))
            }
            if !lenient && Key(stringValue: name) == nil {
                throw fail("unknown field \"\(name)\"", at: keyNode, path: path.key(name))
            }
            entries[name] = (keyNode, valueNode)
        }
        return KeyedDecodingContainer(KeyedNodeContainer<Key>(decoder: self, entries: entries))
    }

    /// The mapping's pairs with YAML merge keys (`<<: *defaults`, `<<: [*a, *b]`) expanded as Go's
    /// YAML reader (gopkg.in/yaml.v2) does: pairs apply in document order, a later one replacing an
    /// earlier one of the same key, and of a list of merged mappings the earlier one wins.
    func mergingKeys(of mapping: Node.Mapping, depth: Int = 0) throws -> [(Node, Node)] {
        func isMergeKey(_ node: Node) -> Bool {
            if case .scalar(let s) = resolved(node), s.string == "<<", s.style == .plain { return true }
            return false
        }
        guard mapping.contains(where: { isMergeKey($0.key) }) else { return Array(mapping) }
        guard depth < 32 else { throw fail("merge keys nested too deeply") }
        var order: [String] = []
        var pairs: [String: (Node, Node)] = [:]
        func assign(_ keyNode: Node, _ valueNode: Node) {
            let name: String
            if case .scalar(let s) = resolved(keyNode) { name = s.string } else { name = "\u{0}\(order.count)" }
            if pairs[name] == nil { order.append(name) }
            pairs[name] = (keyNode, valueNode)
        }
        for (keyNode, valueNode) in mapping {
            guard isMergeKey(keyNode) else {
                assign(keyNode, valueNode)
                continue
            }
            var sources: [Node.Mapping] = []
            switch resolved(valueNode) {
            case .mapping(let source): sources = [source]
            case .sequence(let list):
                for item in list {
                    guard case .mapping(let source) = resolved(item) else { throw fail("a merge key takes a mapping or a list of mappings", at: item) }
                    sources.append(source)
                }
            default: throw fail("a merge key takes a mapping or a list of mappings", at: valueNode)
            }
            for source in sources.reversed() {
                for (k, v) in try mergingKeys(of: source, depth: depth + 1) { assign(k, v) }
            }
        }
        return order.compactMap { pairs[$0] }
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        guard case .sequence(let sequence) = resolved(node) else {
            throw fail("expected a list, found \(describe(node))")
        }
        return UnkeyedNodeContainer(decoder: self, elements: Array(sequence))
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        SingleNodeContainer(decoder: self)
    }

    func child(_ node: Node, _ path: FieldPath, lenient: Bool) throws -> NodeDecoding {
        try state.visit(path, node)
        return NodeDecoding(node: node, path: path, state: state, lenient: lenient)
    }
}

struct PathCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ component: PathComponent) {
        switch component {
        case .key(let k): stringValue = k; intValue = nil
        case .index(let i): stringValue = "\(i)"; intValue = i
        }
    }
    init?(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init?(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
}

/// Yams' composer resolves aliases to their anchored nodes, so an `.alias` never reaches here
/// from parsed text; this keeps the one place that would have to change if that stopped holding.
func resolved(_ node: Node) -> Node { node }

func describe(_ node: Node) -> String {
    switch resolved(node) {
    case .scalar(let s): return isNull(s) ? "null" : "\"\(s.string.prefix(40))\""
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case .alias: return "an alias"
    }
}

func isNull(_ scalar: Node.Scalar) -> Bool {
    if scalar.style != .plain && scalar.style != .any { return false }
    switch scalar.string {
    case "", "~", "null", "Null", "NULL": return true
    default: return false
    }
}

struct KeyedNodeContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoding
    let entries: [String: (key: Node, value: Node)]

    var codingPath: [CodingKey] { decoder.codingPath }
    var allKeys: [Key] { entries.keys.sorted().compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { entries[key.stringValue] != nil }

    private func value(_ key: Key) throws -> Node {
        guard let entry = entries[key.stringValue] else {
            throw decoder.fail("missing required field \(key.stringValue)")
        }
        return entry.value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        guard case .scalar(let s) = resolved(try value(key)) else { return false }
        return isNull(s)
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let node = try value(key)
        let child = try decoder.child(node, decoder.path.key(key.stringValue), lenient: T.self is LenientlyDecoded.Type)
        do {
            return try T(from: child)
        } catch let error as DecodingError {
            throw NodeDecoder.failure(from: error, line: node.mark?.line)
        }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.child(try value(key), decoder.path.key(key.stringValue), lenient: decoder.lenient).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer {
        try decoder.child(try value(key), decoder.path.key(key.stringValue), lenient: decoder.lenient).unkeyedContainer()
    }

    func superDecoder() throws -> Decoder { decoder }
    func superDecoder(forKey key: Key) throws -> Decoder {
        try decoder.child(try value(key), decoder.path.key(key.stringValue), lenient: decoder.lenient)
    }
}

struct UnkeyedNodeContainer: UnkeyedDecodingContainer {
    let decoder: NodeDecoding
    let elements: [Node]
    var currentIndex = 0

    init(decoder: NodeDecoding, elements: [Node]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    private mutating func next() throws -> (Node, FieldPath) {
        guard !isAtEnd else { throw decoder.fail("list ended early") }
        defer { currentIndex += 1 }
        return (elements[currentIndex], decoder.path.index(currentIndex))
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, case .scalar(let s) = resolved(elements[currentIndex]), isNull(s) else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (node, path) = try next()
        do {
            return try T(from: try decoder.child(node, path, lenient: T.self is LenientlyDecoded.Type))
        } catch let error as DecodingError {
            throw NodeDecoder.failure(from: error, line: node.mark?.line)
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (node, path) = try next()
        return try decoder.child(node, path, lenient: decoder.lenient).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> UnkeyedDecodingContainer {
        let (node, path) = try next()
        return try decoder.child(node, path, lenient: decoder.lenient).unkeyedContainer()
    }

    mutating func superDecoder() throws -> Decoder {
        let (node, path) = try next()
        return try decoder.child(node, path, lenient: decoder.lenient)
    }
}

struct SingleNodeContainer: SingleValueDecodingContainer {
    let decoder: NodeDecoding
    var codingPath: [CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        if case .scalar(let s) = resolved(decoder.node) { return isNull(s) }
        return false
    }

    private func scalar(_ what: String) throws -> Node.Scalar {
        guard case .scalar(let s) = resolved(decoder.node), !isNull(s) else {
            throw decoder.fail("expected \(what), found \(describe(decoder.node))")
        }
        return s
    }

    /// A string field takes a quoted scalar, or a plain one that Go's YAML reader (which kubectl
    /// and istioctl use) also reads as a string: an unquoted `1`, `1.5` or `yes` is a number or a
    /// boolean there, which the CRD schema (`type: string`) and Istio's protobuf reader refuse.
    func decode(_ type: String.Type) throws -> String {
        let s = try scalar("a string")
        if s.style == .plain || s.style == .any, let kind = goYAMLNonStringKind(s.string),
            // An explicit `!!str 1` is a string: its tag differs from the one the text alone resolves to.
            !(s.tag.description == Tag.Name.str.rawValue && Node.Scalar(s.string).tag.description != Tag.Name.str.rawValue) {
            throw decoder.fail("expected a string, found \(kind) \(s.string) (quote it to make it a string: \"\(s.string)\")")
        }
        return s.string
    }

    /// Go's YAML 1.1 reader's booleans (`yes`, `on`, `y` are true too); a quoted `"true"` is a
    /// string there, which a boolean field refuses.
    func decode(_ type: Bool.Type) throws -> Bool {
        let s = try scalar("a boolean")
        if s.style == .plain || s.style == .any {
            switch s.string {
            case "true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES", "on", "On", "ON": return true
            case "false", "False", "FALSE", "n", "N", "no", "No", "NO", "off", "Off", "OFF": return false
            default: break
            }
        }
        throw decoder.fail("expected a boolean (true or false), found \(s.style == .plain ? describe(decoder.node) : "the string \(describe(decoder.node))")")
    }

    func decode(_ type: Double.Type) throws -> Double {
        let s = try scalar("a number")
        if let v = Double(s.string.replacingOccurrences(of: "_", with: "")), v.isFinite { return v }
        if let v = Int(s.string) { return Double(v) }
        throw decoder.fail("expected a number, found \(describe(decoder.node))")
    }

    func decode(_ type: Float.Type) throws -> Float { Float(try decode(Double.self)) }

    private func integer<T: FixedWidthInteger>(_ type: T.Type) throws -> T {
        let s = try scalar(NodeDecoder.typeName(T.self))
        let text = s.string.replacingOccurrences(of: "_", with: "")
        // Go's YAML reader reads a plain `010` as octal 8, `0x1F` as 31, `0b11` as 3.
        if s.style == .plain || s.style == .any, let v = goYAMLInteger(text) {
            guard let fitted = T(exactly: v) else {
                throw decoder.fail("\(s.string) is out of range for \(NodeDecoder.typeName(T.self))")
            }
            return fitted
        }
        if let v = Int64(text) {
            guard let fitted = T(exactly: v) else {
                throw decoder.fail("\(text) is out of range for \(NodeDecoder.typeName(T.self))")
            }
            return fitted
        }
        // protobuf's JSON form allows integral floats such as 1e3 or 5.0
        if let d = Double(text), d.isFinite, d.rounded() == d, let fitted = T(exactly: d) {
            return fitted
        }
        throw decoder.fail("expected \(NodeDecoder.typeName(T.self)), found \(describe(decoder.node))")
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(Int.self) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(Int8.self) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(Int16.self) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(Int32.self) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(Int64.self) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(UInt.self) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(UInt8.self) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(UInt16.self) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(UInt32.self) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(UInt64.self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: decoder)
    }
}

/// What Go's YAML 1.1 reader (gopkg.in/yaml.v2, behind sigs.k8s.io/yaml) makes of a plain scalar
/// that is not a string: "an integer", "a number" or "a boolean"; nil for a string.
func goYAMLNonStringKind(_ text: String) -> String? {
    switch text {
    case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
         "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
        return "a boolean"
    case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
        return "a number"
    default:
        break
    }
    // Numbers start with a digit, a sign or a point; most strings stop here.
    guard let lead = text.utf8.first, (lead >= UInt8(ascii: "0") && lead <= UInt8(ascii: "9")) || lead == UInt8(ascii: "+")
        || lead == UInt8(ascii: "-") || lead == UInt8(ascii: ".") else { return nil }
    let plain = Array(text.replacingOccurrences(of: "_", with: "").utf8)
    guard !plain.isEmpty else { return nil }
    func all(_ bytes: ArraySlice<UInt8>, _ allowed: (UInt8) -> Bool) -> Bool { !bytes.isEmpty && bytes.allSatisfy(allowed) }
    let isDigit = { (b: UInt8) in b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    // strconv.ParseInt(s, 0, 64) and ParseUint: sign, then 0x / 0o / 0b / leading-0 octal / decimal.
    var body = plain[...]
    if body.first == UInt8(ascii: "+") || body.first == UInt8(ascii: "-") { body = body.dropFirst() }
    if body.count > 2 && body.first == UInt8(ascii: "0") {
        let base = body[body.startIndex + 1] | 0x20, digits = body.dropFirst(2)
        if base == UInt8(ascii: "x") && all(digits, { isDigit($0) || ($0 | 0x20 >= UInt8(ascii: "a") && $0 | 0x20 <= UInt8(ascii: "f")) }) { return "an integer" }
        if base == UInt8(ascii: "o") && all(digits, { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) { return "an integer" }
        if base == UInt8(ascii: "b") && all(digits, { $0 == UInt8(ascii: "0") || $0 == UInt8(ascii: "1") }) { return "an integer" }
    }
    if all(body, { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) && body.first == UInt8(ascii: "0") { return "an integer" }
    if all(body, isDigit) && body.first != UInt8(ascii: "0") { return "an integer" }
    // yaml.v2's float form: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    var i = body.startIndex
    let end = body.endIndex
    var mantissaDigits = 0
    while i < end && isDigit(body[i]) { i += 1; mantissaDigits += 1 }
    if i < end && body[i] == UInt8(ascii: ".") {
        i += 1
        var fraction = 0
        while i < end && isDigit(body[i]) { i += 1; fraction += 1 }
        if mantissaDigits == 0 && fraction == 0 { return nil }
    } else if mantissaDigits == 0 {
        return nil
    }
    if i < end && (body[i] | 0x20) == UInt8(ascii: "e") {
        i += 1
        if i < end && (body[i] == UInt8(ascii: "+") || body[i] == UInt8(ascii: "-")) { i += 1 }
        var exponent = 0
        while i < end && isDigit(body[i]) { i += 1; exponent += 1 }
        if exponent == 0 { return nil }
    }
    return i == end ? "a number" : nil
}

/// Go's strconv.ParseInt(s, 0, 64), as Go's YAML reader applies it to a plain scalar: an optional
/// sign, then `0x` hex, `0o` or a leading `0` octal, `0b` binary, or decimal.
func goYAMLInteger(_ text: String) -> Int64? {
    var body = Substring(text)
    var negative = false
    if let sign = body.first, sign == "+" || sign == "-" {
        negative = sign == "-"
        body = body.dropFirst()
    }
    var radix = 10
    if body.count > 2, body.hasPrefix("0") {
        switch body.dropFirst().first {
        case "x", "X": radix = 16; body = body.dropFirst(2)
        case "o", "O": radix = 8; body = body.dropFirst(2)
        case "b", "B": radix = 2; body = body.dropFirst(2)
        default: radix = 8; body = body.dropFirst()
        }
    } else if body.count == 2, body.hasPrefix("0"), body.last?.isNumber == true {
        radix = 8
        body = body.dropFirst()
    }
    guard !body.isEmpty, body.allSatisfy({ $0.isASCII && $0.isHexDigit }), let magnitude = UInt64(body, radix: radix) else { return nil }
    if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
    return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
}
