/// Istio's `deprecation.DeprecationAnalyzer`, for the kinds meshsim reads: a fault delay given
/// with the integer `percent` rather than `percentage`.
struct DeprecationAnalyzer: ResourceAnalyzer {
    let name = "deprecation.DeprecationAnalyzer"
    let description = "Checks for deprecated Istio types and fields"
    let reports: [AnalysisMessageType] = [.deprecated]

    func analyze(_ context: AnalysisContext) -> [AnalysisMessage] {
        var messages: [AnalysisMessage] = []
        for vs in context.resources.virtualServices {
            for (i, rule) in (vs.spec.http ?? []).enumerated() {
                guard let percent = rule.fault?.delay?.percent, percent > 0 else { continue }
                messages.append(AnalysisMessage(
                    .deprecated, vs, specField: ["http", .index(i), "fault", "delay", "percent"],
                    IstioText.deprecated("HTTPRoute.fault.delay.percent is deprecated; use HTTPRoute.fault.delay.percentage")))
            }
        }
        return messages
    }
}
