/// Istio's host name rules: short names expand by namespace, wildcards match suffixes.
public enum HostName {
    public static let clusterDomain = "cluster.local"

    /// Istio's ResolveShortnameToFQDN: a name without a dot (and not `*` or an IP address) becomes
    /// `name.namespace.svc.cluster.local`; anything with a dot is taken as written.
    public static func fullyQualified(_ host: String, namespace: String) -> String {
        if host.isEmpty || host == "*" || host.contains(".") || isIPAddress(host) { return host }
        return "\(host).\(namespace).svc.\(clusterDomain)"
    }

    public static func isWildcard(_ host: String) -> Bool { host.hasPrefix("*") }

    /// Whether `pattern` (a host, `*.suffix`, or `*`) covers the concrete name `host`.
    public static func matches(pattern: String, host: String) -> Bool {
        if pattern == "*" { return true }
        if pattern.hasPrefix("*") {
            let suffix = pattern.dropFirst()  // ".example.com"
            return host.count > suffix.count && host.lowercased().hasSuffix(suffix.lowercased())
        }
        return pattern.caseInsensitiveCompare(host) == .orderedSame
    }

    /// Whether two host patterns can match a common name (Istio's Name.Matches, symmetric).
    public static func overlaps(_ a: String, _ b: String) -> Bool {
        let aWild = isWildcard(a), bWild = isWildcard(b)
        switch (aWild, bWild) {
        case (false, false): return a.caseInsensitiveCompare(b) == .orderedSame
        case (true, false): return matches(pattern: a, host: b)
        case (false, true): return matches(pattern: b, host: a)
        case (true, true):
            if a == "*" || b == "*" { return true }
            let sa = a.dropFirst().lowercased(), sb = b.dropFirst().lowercased()
            return sa.hasSuffix(sb) || sb.hasSuffix(sa)
        }
    }

    public static func isIPAddress(_ text: String) -> Bool { isIPv4(text) || isIPv6(text) }

    public static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } && (Int(p) ?? 256) <= 255
                && !(p.count > 1 && p.first == "0")
        }
    }

    public static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), text.count <= 45 else { return false }
        var body = Substring(text)
        // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
        var extraGroups = 0
        if let lastColon = body.lastIndex(of: ":"), body[body.index(after: lastColon)...].contains(".") {
            guard isIPv4(String(body[body.index(after: lastColon)...])) else { return false }
            body = body[...lastColon] + "0"
            extraGroups = 1
        }
        let doubleColons = body.components(separatedBy: "::").count - 1
        guard doubleColons <= 1 else { return false }
        let groups = body.split(separator: ":", omittingEmptySubsequences: true)
        guard groups.allSatisfy({ g in g.count <= 4 && g.allSatisfy { $0.isHexDigit } }) else { return false }
        let total = groups.count + extraGroups
        if doubleColons == 1 { return total <= 7 }
        // Without `::`, no empty group may appear.
        guard !body.hasPrefix(":"), !body.hasSuffix(":") else { return false }
        return total == 8
    }
}
