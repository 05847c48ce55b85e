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

    /// Istio's validateStringRegexp: length, then RE2 syntax.
    static func regexProblem(_ regex: String, where location: String) -> String? {
        if regex.utf8.count > maxRegexLength {
            return "\(NameRules.goQuoted(location)): regex is too large, max length allowed is \(maxRegexLength)"
        }
        do {
            _ = try RE2Regex(regex)
            return nil
        } catch let error as RE2Regex.CompileError {
            return "\(NameRules.goQuoted(location)): error parsing regexp: \(error.message): `\(regex)`; Istio uses RE2 style regex-based match (https://github.com/google/re2/wiki/Syntax)"
        } catch {
            return "\(NameRules.goQuoted(location)): \(error)"
        }
    }
}
