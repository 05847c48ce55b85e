/// Istio's unreachable-rule checks, as istioctl reports them: Istio finds them during
/// validation (`analyzeUnreachableHTTPRules` and its TCP/TLS twins) and its schema analyzer turns
/// those warnings into IST0130 VirtualServiceUnreachableRule and IST0131
/// VirtualServiceIneffectiveMatch. meshsim does the same with `Validator`'s `UnreachableRules`:
/// - a rule after a rule without matches (which takes every request) is never used;
/// - a match block identical to an earlier one (ignoring its `name`) is never used, and a rule
///   whose every match block is such a duplicate is never used;
/// - an HTTP match whose URI prefix extends an earlier match's prefix, with the same port and
///   otherwise covered conditions, is never used.
struct UnreachableRulesAnalyzer: ResourceAnalyzer {
    let name = "virtualservice.UnreachableRulesAnalyzer"
    let description = "Checks for virtual service rules and matches that no request can reach"
    let reports: [AnalysisMessageType] = [.virtualServiceUnreachableRule, .virtualServiceIneffectiveMatch]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for vs in context.resources.virtualServices {
            var findings = ValidationFindings()
            UnreachableRules.analyze(vs.spec, into: &findings)
            for finding in findings.items {
                guard let message = AnalysisMessage(validation: vs.diagnostic(finding.severity, finding.path, finding.message)) else { continue }
                messages.append(message)
            }
        }
        return messages
    }
}

/// Tells Istio's two unreachable-rule validation warnings apart by their fixed wording, and
/// words them as the analysis messages do (`VirtualService rule … not used (…).`).
enum UnreachableRuleWarning {
    private static let prefix = "virtualService rule "
    /// The reasons `analyzeUnreachable*Rules` gives for a rule that is never used.
    private static let unusedRuleReasons = [
        "only the last rule can have no matches", "route without matches defined before", "all matches used by prior rules",
    ]
    private static let ineffectiveMatchMarker = " is not used (duplicate/overlapping match in rule "

    /// IST0130 or IST0131 for one of those warnings, nil for any other text.
    static func type(of warning: String) -> AnalysisMessageType? {
        guard warning.hasPrefix(prefix), warning.hasSuffix(")") else { return nil }
        if unusedRuleReasons.contains(where: { warning.hasSuffix(" not used (\($0))") }) { return .virtualServiceUnreachableRule }
        if warning.contains(ineffectiveMatchMarker) { return .virtualServiceIneffectiveMatch }
        return nil
    }

    /// The analysis wording: Istio's message templates differ from the validation text only in
    /// the capital `V` and the closing period.
    static func analysisText(_ warning: String) -> String {
        "VirtualService rule " + warning.dropFirst(prefix.count) + "."
    }
}
