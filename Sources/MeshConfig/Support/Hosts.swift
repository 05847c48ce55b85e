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

    /// An IPv6 address without zone, with the rules of Go's netip.ParseAddr (which Istio validates
    /// with): 1–4 hex digits per group, at most one `::` standing for at least one zero group, and
    /// an optional dotted IPv4 tail in place of the last two groups.
    public static func isIPv6(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 2, bytes.count <= 45 else { return false }
        let colon = UInt8(ascii: ":"), dot = UInt8(ascii: ".")
        var groups = 0
        var ellipsis: Int? = nil
        var i = 0
        if bytes[0] == colon && bytes[1] == colon {
            ellipsis = 0
            i = 2
            if i == bytes.count { return true }
        }
        while groups < 8 {
            var digits = 0
            while i + digits < bytes.count, Character(UnicodeScalar(bytes[i + digits])).isHexDigit {
                digits += 1
                if digits > 4 { return false }
            }
            guard digits > 0 else { return false }
            if i + digits < bytes.count && bytes[i + digits] == dot {
                // The IPv4 tail takes two groups and must end the address.
                guard ellipsis != nil || groups == 6, groups + 2 <= 8 else { return false }
                guard isIPv4(String(decoding: bytes[i...], as: UTF8.self)) else { return false }
                groups += 2
                i = bytes.count
                break
            }
            groups += 1
            i += digits
            if i == bytes.count { break }
            guard bytes[i] == colon, i + 1 < bytes.count else { return false }
            i += 1
            if bytes[i] == colon {
                guard ellipsis == nil else { return false }
                ellipsis = groups
                i += 1
                if i == bytes.count { break }
            }
        }
        guard i == bytes.count else { return false }
        return ellipsis == nil ? groups == 8 : groups < 8
    }
}
