/// Istio's rules for StringMatch (`exact` / `prefix` / `regex`) and for regexes, which must be
/// RE2 and at most 1024 characters (Envoy bounds RE2 program size; Istio bounds the length).
enum StringMatchRules {
    static let maxRegexLength = 1024

    /// The CRD's oneOf: a StringMatch sets at most one of its fields (none means "present").
    static func oneOfProblem(_ match: StringMatch) -> String? {
        match.setCount > 1 ? "only one of exact, prefix or regex may be set" : nil
    }

    /// A match on headers, query parameters, scheme, method or authority: a prefix may not be
    /// empty, a regex must compile.
    static func validate(_ match: StringMatch?, where location: String, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let match else { return }
        if let problem = oneOfProblem(match) {
            findings.error(path, problem)
            return
        }
        if let prefix = match.prefix, prefix.isEmpty {
            findings.error(path / "prefix", "\(NameRules.goQuoted(location)): prefix string match should not be empty")
        }
        validateRegex(of: match, where: location, at: path, into: &findings)
    }

    /// A URI match, which Envoy allows an empty prefix (matching every path); only a regex is checked.
    static func validateRegex(of match: StringMatch?, where location: String, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let match else { return }
        if match.setCount > 1 {
            if let problem = oneOfProblem(match) { findings.error(path, problem) }
            return
        }
        guard let regex = match.regex else { return }
        if regex.isEmpty {
            findings.error(path / "regex", "\(NameRules.goQuoted(location)): regex string match should not be empty")
            return
        }
        findings.add(regexProblem(regex, where: location), at: path / "regex")
    }

    /// Istio's validateStringRegexp: length, then Go's regexp syntax. RE2 compiles the pattern;
    /// where Go's syntax and RE2's differ, Go's verdict is the one kept (`RE2Regex.goCompatible`).
    static func regexProblem(_ regex: String, where location: String) -> String? {
        if regex.utf8.count > maxRegexLength {
            return "\(NameRules.goQuoted(location)): regex is too large, max length allowed is \(maxRegexLength)"
        }
        // Go refuses `\C` (any byte) and non-ASCII group names, which RE2 takes.
        let go = RE2Regex.goCompatible(regex)
        if go.anyByteEscape {
            return "\(NameRules.goQuoted(location)): error parsing regexp: invalid escape sequence: `\\C`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"
        }
        if let capture = go.badCaptureName {
            return "\(NameRules.goQuoted(location)): error parsing regexp: invalid named capture: `\(capture)`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"
        }
        do {
            _ = try RE2Regex(regex)
            return nil
        } catch let error as RE2Regex.CompileError {
            // RE2's memory budget (8 MiB of program) refuses e.g. `\pL{1000}`; Go's parser, which
            // Istio validates with, has no such bound for a pattern of at most 1024 bytes.
            if error.message.hasPrefix("pattern too large") { return nil }
            return "\(NameRules.goQuoted(location)): error parsing regexp: \(goMessage(error.message, regex)); Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"
        } catch {
            return "\(NameRules.goQuoted(location)): \(error)"
        }
    }

    /// RE2's error text in Go's words (`missing ): a(b` becomes ``missing closing ): `a(b` ``).
    static func goMessage(_ message: String, _ regex: String) -> String {
        let codes: [(String, String)] = [
            ("invalid escape sequence", "invalid escape sequence"), ("invalid character class range", "invalid character class range"),
            ("invalid character class", "invalid character class"), ("missing ]", "missing closing ]"), ("missing )", "missing closing )"),
            ("unexpected )", "unexpected )"), ("trailing \\", "trailing backslash at end of expression"),
            ("no argument for repetition operator", "missing argument to repetition operator"), ("invalid repetition size", "invalid repeat count"),
            ("bad repetition operator", "invalid nested repetition operator"), ("invalid perl operator", "invalid or unsupported Perl syntax"),
            ("invalid UTF-8", "invalid UTF-8"), ("invalid named capture group", "invalid named capture"),
        ]
        for (re2Code, goCode) in codes where message.hasPrefix(re2Code) {
            var argument = message.dropFirst(re2Code.count)
            if argument.hasPrefix(": ") { argument = argument.dropFirst(2) }
            return "\(goCode): `\(argument)`"
        }
        return "\(message): `\(regex)`"
    }
}
