import Foundation

/// Rules several kinds share: durations, percentages, destinations, exportTo, gateway names and
/// workload selectors.
enum CommonRules {
    static let millisecond: Int64 = 1_000_000

    /// Istio's ValidateDuration: at least 1ms, in whole milliseconds.
    static func duration(_ duration: IstioDuration) -> String? {
        if duration.nanoseconds < millisecond { return "duration must be greater than 1ms" }
        if duration.nanoseconds % millisecond != 0 { return "only durations to ms precision are supported" }
        return nil
    }

    /// The CRD schema's rule on duration fields Istio's Go code leaves alone.
    static func schemaDuration(_ duration: IstioDuration) -> String? {
        duration.nanoseconds >= millisecond ? nil : "must be a valid duration greater than 1ms"
    }

    static func percent(_ value: Int32) -> String? {
        (0...100).contains(value) ? nil : "percentage \(value) is not in range 0..100"
    }

    /// A fractional percentage: 0, or 0.0001 through 100.
    static func percentage(_ percentage: Percent?) -> String? {
        guard let value = percentage?.value else { return nil }
        if value < 0 || value > 100 || (value > 0 && value < 0.0001) {
            return "percentage \(goFloat(value)) is neither 0.0, nor in range [0.0001, 100.0]"
        }
        return nil
    }

    /// A route, mirror or TCP/TLS destination.
    static func destination(_ destination: Destination?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let destination else { return }
        let host = destination.host ?? ""
        if host == "*" {
            findings.error(path / "host", "invalid destination host \(host)")
        } else {
            findings.add(NameRules.wildcardDomain(host), at: path / "host")
        }
        if let subset = destination.subset, !subset.isEmpty {
            findings.add(subsetName(subset), at: path / "subset")
        }
        if let port = destination.port {
            findings.add(NameRules.port(Int(port.number ?? 0)), at: path / "port" / "number")
        }
    }

    static func subsetName(_ name: String) -> String? {
        if name.isEmpty { return "subset name cannot be empty" }
        return NameRules.isDNS1123Label(name) ? nil : "subset name is invalid: \(name)"
    }

    /// `exportTo`: `.`, `*`, namespaces, and `~` for ServiceEntries; no duplicates, no mixing
    /// `*` or `~` with anything else.
    static func exportTo(_ exportTo: [String]?, namespace: String, isServiceEntry: Bool, isDestinationRuleWithSelector: Bool,
                         at path: FieldPath, into findings: inout ValidationFindings) {
        guard let exportTo, !exportTo.isEmpty else { return }
        var seen = Set<String>()
        for (i, entry) in exportTo.enumerated() {
            // `.` means this namespace, so `.` and the namespace's own name are duplicates.
            let key = entry == "." ? namespace : entry
            if seen.contains(key) {
                findings.error(path[i], key != entry ? "duplicate entries in exportTo: . and current namespace \(namespace)" : "duplicate entries in exportTo for entry \(entry)")
            } else if isServiceEntry && entry == "~" {
                seen.insert(key)
            } else if let problem = visibilityProblem(key) {
                findings.error(path[i], problem)
            } else {
                seen.insert(key)
            }
        }
        if isDestinationRuleWithSelector && !seen.isEmpty {
            if !seen.contains(namespace) {
                findings.error(path, "destination rule with workload selector cannot have exportTo beyond current namespace")
            } else if seen.count > 1 {
                findings.error(path, "destination rule with workload selector cannot have multiple entries in exportTo")
            }
        }
        if seen.contains("*") && exportTo.count > 1 {
            findings.error(path, "cannot have both public (*) and non-public exportTo values for a resource")
        }
        if seen.contains("~") && exportTo.count > 1 {
            findings.error(path, "cannot export service entry to no one (~) and someone")
        }
    }

    private static func visibilityProblem(_ value: String) -> String? {
        switch value {
        case ".", "*": return nil
        case "~": return "exportTo ~ (none) is not allowed for Istio configuration objects"
        default:
            return NameRules.isDNS1123Label(value) ? nil : "only .,*, or a valid DNS 1123 label is allowed as exportTo entry"
        }
    }

    /// `gateways`: `namespace/name`, `mesh`, or the legacy `name.namespace` (a warning). Like
    /// Istio, checking stops at the first name without a slash.
    static func gatewayNames(_ names: [String]?, gatewaySemantics: Bool, at path: FieldPath, into findings: inout ValidationFindings) {
        for (i, name) in (names ?? []).enumerated() {
            let parts = name.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else {
                if name.contains(".") {
                    let pieces = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    findings.warning(path[i], "using legacy gatewayName format \(NameRules.goQuoted(name)); prefer the <namespace>/<name> format: \(NameRules.goQuoted("\(pieces[1])/\(pieces[0])"))")
                }
                findings.add(NameRules.fqdn(name), at: path[i])
                return
            }
            if parts[0].isEmpty || parts[1].isEmpty {
                findings.error(path[i], "config namespace and gateway name cannot be empty")
            }
            if !NameRules.isDNS1123Label(parts[0]) {
                findings.error(path[i], "invalid value for namespace: \(NameRules.goQuoted(parts[0]))")
            }
            if !NameRules.isDNS1123Label(parts[1]) && !gatewaySemantics {
                findings.error(path[i], "invalid value for gateway name: \(NameRules.goQuoted(parts[1]))")
            }
        }
    }

    /// Problems with a selector's labels: empty keys and `*` anywhere.
    static func selectorLabelProblems(_ labels: [String: String]) -> [String] {
        var problems: [String] = []
        for key in labels.keys.sorted() {
            let value = labels[key] ?? ""
            let pair = NameRules.goQuoted("\(key)=\(value)")
            if key.isEmpty { problems.append("empty key is not supported in selector: \(pair)") }
            if key.contains("*") || value.contains("*") { problems.append("wildcard is not supported in selector: \(pair)") }
        }
        return problems
    }

    /// Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e6.
    static func goFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        if value == 0 { return value.sign == .minus ? "-0" : "0" }
        let sign = value < 0 ? "-" : ""
        let text = "\(Swift.abs(value))"
        var mantissa = Substring(text), exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let pieces = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        var digits = Array(pieces[0] + (pieces.count > 1 ? pieces[1] : ""))
        var pointPosition = pieces[0].count + exponent
        while digits.count > 1 && digits.first == "0" {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.count > 1 && digits.last == "0" { digits.removeLast() }
        let decimalExponent = pointPosition - 1
        if decimalExponent < -4 || decimalExponent >= 6 {
            let fraction = digits.count > 1 ? "." + String(digits.dropFirst()) : ""
            let magnitude = Swift.abs(decimalExponent)
            return "\(sign)\(digits[0])\(fraction)e\(decimalExponent < 0 ? "-" : "+")\(magnitude < 10 ? "0" : "")\(magnitude)"
        }
        if pointPosition <= 0 { return sign + "0." + String(repeating: "0", count: -pointPosition) + String(digits) }
        if pointPosition >= digits.count { return sign + String(digits) + String(repeating: "0", count: pointPosition - digits.count) }
        return sign + String(digits[..<pointPosition]) + "." + String(digits[pointPosition...])
    }

    /// Go's `%f`.
    static func goFixed(_ value: Double) -> String { String(format: "%f", value) }
}
