import CRE2

/// A compiled RE2 pattern: the engine Istio validates with and Envoy matches with.
/// Immutable after compile, so one instance is safely shared across threads.
public final class RE2Regex: @unchecked Sendable, CustomStringConvertible {
    public let pattern: String
    private let handle: OpaquePointer

    public struct CompileError: Error, CustomStringConvertible, Sendable {
        public let pattern: String
        public let message: String
        public var description: String { "invalid RE2 regex \"\(pattern)\": \(message)" }
    }

    public init(_ pattern: String) throws {
        var error: UnsafeMutablePointer<CChar>? = nil
        // Go (Istio's validator) and current RE2 (Envoy's) take `(?<name>re)`; the RE2 built here
        // knows only `(?P<name>re)`.
        let source = pattern.contains("(?<") ? Self.goCompatible(pattern).re2Pattern : pattern
        let compiled: OpaquePointer? = source.utf8CString.withUnsafeBufferPointer { buffer in
            meshsim_re2_compile(buffer.baseAddress, buffer.count - 1, &error)
        }
        guard let compiled else {
            let message = error.map { String(cString: $0) } ?? "unknown error"
            if let error { meshsim_re2_free_error(error) }
            throw CompileError(pattern: pattern, message: message)
        }
        self.pattern = pattern
        self.handle = compiled
    }

    deinit { meshsim_re2_delete(handle) }

    /// The whole of `text` matches (Envoy's `safe_regex` semantics).
    public func fullMatch(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { meshsim_re2_full_match(handle, $0.baseAddress, $0.count) != 0 }
    }

    public func fullMatch(_ bytes: UnsafeRawBufferPointer) -> Bool {
        meshsim_re2_full_match(handle, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count) != 0
    }

    public func partialMatch(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { meshsim_re2_partial_match(handle, $0.baseAddress, $0.count) != 0 }
    }

    /// RE2's program size, the cost measure Envoy bounds (`max_program_size`).
    public var programSize: Int { Int(meshsim_re2_program_size(handle)) }

    /// Every match replaced by `rewrite` (`\1` refers to groups); nil when `rewrite` names a missing group.
    public func replacingAll(in text: String, with rewrite: String) -> String? {
        var text = text
        var rewrite = rewrite
        return text.withUTF8 { t in
            rewrite.withUTF8 { r -> String? in
                guard let out = meshsim_re2_global_replace(handle, t.baseAddress, t.count, r.baseAddress, r.count) else { return nil }
                defer { meshsim_re2_free_error(out) }
                return String(cString: out)
            }
        }
    }

    public var description: String { pattern }
}

extension RE2Regex {
    /// Where Go's regexp syntax differs from this RE2's: Go takes `(?<name>re)` for
    /// `(?P<name>re)` (Go 1.22+), refuses `\C` (any byte), and allows only ASCII letters, digits
    /// and `_` in a group name. Returns the pattern with `(?<name>` spelled `(?P<name>` (outside
    /// classes and `\Q…\E`), whether it uses `\C`, and the first group opening (`(?P<é>`) whose
    /// name Go refuses.
    static func goCompatible(_ pattern: String) -> (re2Pattern: String, anyByteEscape: Bool, badCaptureName: String?) {
        var out = ""
        var chars = Array(pattern)[...]
        var inClass = false, classStart = true, quoted = false, anyByte = false
        var badCaptureName: String? = nil
        func checkName(_ opening: String) {
            guard badCaptureName == nil, let close = chars.firstIndex(of: ">") else { return }
            let name = chars[chars.startIndex..<close]
            if !name.isEmpty && !name.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) {
                badCaptureName = opening + String(name) + ">"
            }
        }
        while let c = chars.popFirst() {
            if quoted {
                out.append(c)
                if c == "\\" && chars.first == "E" {
                    quoted = false
                    out.append(chars.removeFirst())
                }
                continue
            }
            if c == "\\" {
                out.append(c)
                guard let next = chars.popFirst() else { break }
                if !inClass && next == "Q" { quoted = true }
                if !inClass && next == "C" { anyByte = true }
                out.append(next)
                classStart = false
                continue
            }
            if inClass {
                if c == "[" && chars.first == ":", let end = chars.firstRange(of: ":]") {
                    out.append(c)
                    out += chars[chars.startIndex..<end.upperBound]
                    chars = chars[end.upperBound...]
                } else {
                    if c == "]" && !classStart { inClass = false }
                    classStart = false
                    out.append(c)
                }
                continue
            }
            if c == "[" {
                inClass = true
                classStart = true
                out.append(c)
                if chars.first == "^" { out.append(chars.removeFirst()) }
                continue
            }
            if c == "(" && chars.starts(with: "?<") && !chars.dropFirst(2).starts(with: "=") && !chars.dropFirst(2).starts(with: "!") {
                out += "(?P<"
                chars = chars.dropFirst(2)
                checkName("(?<")
                continue
            }
            if c == "(" && chars.starts(with: "?P<") {
                out += "(?P<"
                chars = chars.dropFirst(3)
                checkName("(?P<")
                continue
            }
            out.append(c)
        }
        return (out, anyByte, badCaptureName)
    }
}
