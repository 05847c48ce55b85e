/// One step into a document: a mapping key or a sequence index.
public enum PathComponent: Hashable, Sendable {
    case key(String)
    case index(Int)
}

/// A path to a field inside a resource, printed the way Istio prints them:
/// `http[0].route[1].weight`, `http[0].match[0].headers.x-user-group`.
public struct FieldPath: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var components: [PathComponent]

    public init(_ components: [PathComponent] = []) { self.components = components }
    public init(arrayLiteral elements: PathComponent...) { self.components = elements }

    public static let root = FieldPath()

    public func key(_ name: String) -> FieldPath { FieldPath(components + [.key(name)]) }
    public func index(_ i: Int) -> FieldPath { FieldPath(components + [.index(i)]) }
    public static func / (lhs: FieldPath, rhs: String) -> FieldPath { lhs.key(rhs) }
    public subscript(i: Int) -> FieldPath { index(i) }

    public var isEmpty: Bool { components.isEmpty }

    public var description: String {
        var out = ""
        for component in components {
            switch component {
            case .index(let i):
                out += "[\(i)]"
            case .key(let k):
                let plain = !k.isEmpty && k.allSatisfy { $0 != "." && $0 != "[" && $0 != "]" && $0 != " " && $0 != "\"" }
                if plain {
                    if !out.isEmpty { out += "." }
                    out += k
                } else {
                    out += "[\"\(k)\"]"
                }
            }
        }
        return out
    }
}

extension PathComponent: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .key(value) }
    public init(integerLiteral value: Int) { self = .index(value) }
}
