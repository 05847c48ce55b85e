import MeshConfig

/// Calls `body` with the UTF-8 bytes of `string`, without copying when the string is native
/// (always, on Linux; small strings are read from the stack).
@inline(__always)
func withUTF8Bytes<R>(_ string: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
    if let result = string.utf8.withContiguousStorageIfAvailable(body) { return result }
    var copy = string
    return copy.withUTF8(body)
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    byte &- 65 < 26 ? byte | 0x20 : byte
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// A sub-range as a buffer (no copy).
    @inline(__always)
    func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        guard let base = baseAddress, !range.isEmpty else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    @inline(__always)
    func firstIndex(of byte: UInt8, from start: Int = 0) -> Int? {
        var i = start
        while i < count {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }

    @inline(__always)
    func equals(_ other: [UInt8], ignoringCase: Bool = false) -> Bool {
        count == other.count && hasPrefix(other, ignoringCase: ignoringCase)
    }

    /// `other` must already be lower-cased when `ignoringCase`.
    @inline(__always)
    func hasPrefix(_ other: [UInt8], ignoringCase: Bool = false) -> Bool {
        guard count >= other.count else { return false }
        return other.withUnsafeBufferPointer { o in
            var i = 0
            if ignoringCase {
                while i < o.count {
                    if asciiLowercased(self[i]) != o[i] { return false }
                    i += 1
                }
            } else {
                while i < o.count {
                    if self[i] != o[i] { return false }
                    i += 1
                }
            }
            return true
        }
    }

    /// `other` must already be lower-cased when `ignoringCase`.
    @inline(__always)
    func hasPrefix(_ other: UnsafeBufferPointer<UInt8>, ignoringCase: Bool = false) -> Bool {
        guard count >= other.count else { return false }
        if other.isEmpty { return true }
        if !ignoringCase, let mine = baseAddress, let theirs = other.baseAddress {
            // Eight bytes at a time: literals are short, a call to memcmp would cost more.
            let a = UnsafeRawPointer(mine), b = UnsafeRawPointer(theirs)
            var i = 0
            while i + 8 <= other.count {
                if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            while i < other.count {
                if mine[i] != theirs[i] { return false }
                i += 1
            }
            return true
        }
        var i = 0
        if ignoringCase {
            while i < other.count {
                if asciiLowercased(self[i]) != other[i] { return false }
                i += 1
            }
        } else {
            while i < other.count {
                if self[i] != other[i] { return false }
                i += 1
            }
        }
        return true
    }

    /// Whether these bytes end with `suffix` (already lower-cased), ignoring ASCII case.
    @inline(__always)
    func hasSuffixIgnoringCase(_ suffix: [UInt8]) -> Bool {
        guard count >= suffix.count else { return false }
        let offset = count - suffix.count
        var i = 0
        while i < suffix.count {
            if asciiLowercased(self[offset + i]) != suffix[i] { return false }
            i += 1
        }
        return true
    }
}

/// An Istio StringMatch compiled for matching UTF-8 bytes: exact, prefix, RE2 full match, or
/// presence (`{}`, or the regex `*`, which Istio turns into a presence match).
enum ByteMatcher: Sendable, CustomStringConvertible {
    case exact([UInt8], ignoringCase: Bool)
    case prefix([UInt8], ignoringCase: Bool)
    /// `prefix`: literal bytes every full match starts with; checked first, since a call into
    /// RE2 costs far more than comparing a few bytes (a table of many regex rules mostly misses).
    case regex(RE2Regex, prefix: [UInt8])
    case present

    @inline(__always)
    func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch self {
        case .exact(let value, let ignoringCase): return bytes.equals(value, ignoringCase: ignoringCase)
        case .prefix(let value, let ignoringCase): return bytes.hasPrefix(value, ignoringCase: ignoringCase)
        case .regex(let regex, let prefix): return bytes.hasPrefix(prefix) && regex.fullMatch(UnsafeRawBufferPointer(bytes))
        case .present: return true
        }
    }

    func matches(_ string: String) -> Bool {
        withUTF8Bytes(string) { matches($0) }
    }

    var description: String {
        switch self {
        case .exact(let v, let i): return "exact \"\(String(decoding: v, as: UTF8.self))\"\(i ? " (ignoring case)" : "")"
        case .prefix(let v, let i): return "prefix \"\(String(decoding: v, as: UTF8.self))\"\(i ? " (ignoring case)" : "")"
        case .regex(let r, _): return "regex \"\(r.pattern)\""
        case .present: return "present"
        }
    }

    /// The literal text every full match of `pattern` begins with, found conservatively: nothing
    /// when the pattern has an alternation anywhere; otherwise the plain characters up to the
    /// first metacharacter, less one that a `*`, `?` or `{` makes optional.
    static func literalPrefix(of pattern: String) -> [UInt8] {
        let bytes = Array(pattern.utf8)
        if bytes.contains(UInt8(ascii: "|")) { return [] }
        var i = bytes.first == UInt8(ascii: "^") ? 1 : 0
        var prefix: [UInt8] = []
        while i < bytes.count, isPlainLiteral(bytes[i]) {
            let next = i + 1 < bytes.count ? bytes[i + 1] : 0
            if next == UInt8(ascii: "*") || next == UInt8(ascii: "?") || next == UInt8(ascii: "{") { break }
            prefix.append(bytes[i])
            if next == UInt8(ascii: "+") { break }
            i += 1
        }
        return prefix
    }

    /// ASCII characters that stand for themselves in RE2 syntax (outside a class).
    private static func isPlainLiteral(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("-_/:=,@%!~'\";&<># ".utf8).contains(byte)
        }
    }

    /// Envoy rejects a regex whose RE2 program is larger than this (runtime key
    /// `re2.max_program_size.error_level`, default 100), so the route table would be NACKed.
    static let maxRegexProgramSize = 100

    /// Compiles `match`; problems are reported against `field` of `resource`.
    static func compile(
        _ match: StringMatch, ignoringCase: Bool = false, field: FieldPath, resource: VirtualService,
        diagnostics: inout [ConfigDiagnostic]
    ) -> ByteMatcher? {
        if match.setCount > 1 {
            diagnostics.append(resource.diagnostic(.error, field, "only one of exact, prefix or regex may be set"))
            return nil
        }
        if let exact = match.exact {
            return .exact(Array((ignoringCase ? exact.lowercased() : exact).utf8), ignoringCase: ignoringCase)
        }
        if let prefix = match.prefix {
            return .prefix(Array((ignoringCase ? prefix.lowercased() : prefix).utf8), ignoringCase: ignoringCase)
        }
        if let pattern = match.regex {
            // Istio turns the regex `*` (not valid RE2) into a presence match.
            if pattern == "*" { return .present }
            do {
                let regex = try RE2Regex(pattern)
                if regex.programSize > maxRegexProgramSize {
                    diagnostics.append(resource.diagnostic(
                        .error, field / "regex",
                        "regex \"\(pattern)\" has RE2 program size \(regex.programSize) > \(maxRegexProgramSize), which Envoy rejects"))
                    return nil
                }
                return .regex(regex, prefix: literalPrefix(of: pattern))
            } catch let error as RE2Regex.CompileError {
                diagnostics.append(resource.diagnostic(.error, field / "regex", "invalid RE2 regex \"\(pattern)\": \(error.message)"))
                return nil
            } catch {
                diagnostics.append(resource.diagnostic(.error, field / "regex", "\(error)"))
                return nil
            }
        }
        return .present
    }
}
