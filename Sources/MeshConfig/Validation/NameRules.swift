/// Istio's syntax rules for names: DNS labels and domains (with Istio's wildcard forms), ports,
/// port names and Kubernetes label keys and values. Each check returns Istio's error message, or
/// nil when the name is valid.
enum NameRules {
    static let dns1123LabelMaxLength = 63

    /// Istio's DNS-1123 label: letters (either case), digits and `-`, alphanumeric at both ends,
    /// at most 63 characters.
    static func isDNS1123Label(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty, bytes.count <= dns1123LabelMaxLength else { return false }
        guard isAlphanumeric(bytes[0]), isAlphanumeric(bytes[bytes.count - 1]) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    /// A DNS label with Istio's wildcard prefixes: `*`, `*foo`, `*-foo`, or a plain label.
    static func isWildcardDNS1123Label(_ value: String) -> Bool {
        guard value.utf8.count <= dns1123LabelMaxLength else { return false }
        if value == "*" { return true }
        var rest = Substring(value)
        if rest.hasPrefix("*-") {
            rest = rest.dropFirst(2)
        } else if rest.hasPrefix("*") {
            rest = rest.dropFirst()
        }
        return isDNS1123Label(String(rest))
    }

    /// Kubernetes' RFC 1123 label (lower case only), as the API server requires of namespaces.
    static func isKubernetesDNS1123Label(_ value: String) -> Bool {
        isDNS1123Label(value) && !value.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }
    }

    /// Kubernetes' RFC 1123 subdomain (lower case labels joined by dots, at most 253 characters),
    /// as the API server requires of custom resource names. Kubernetes bounds only the whole name,
    /// not each label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`.
    static func isKubernetesDNS1123Subdomain(_ value: String) -> Bool {
        guard !value.isEmpty, value.utf8.count <= 253 else { return false }
        return value.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard let first = bytes.first, let last = bytes.last, isLowerAlphanumeric(first), isLowerAlphanumeric(last) else { return false }
            return bytes.allSatisfy { isLowerAlphanumeric($0) || $0 == UInt8(ascii: "-") }
        }
    }

    private static func isLowerAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    static func dnsPreconditions(_ name: String) -> String? {
        if name.utf8.count > 255 { return "domain name \(goQuoted(name)) too long (max 255)" }
        if name.isEmpty { return "empty domain name not allowed" }
        return nil
    }

    /// Every dot-separated label is a DNS-1123 label (a trailing dot is allowed) and the top-level
    /// domain is not all digits.
    static func dns1123Labels(_ domain: String) -> String? {
        let parts = domain.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let topLevelDomain = parts[parts.count - 1]
        // Go's strconv.Atoi: an optional sign and digits that fit in 64 bits, which is Swift's Int(_:).
        if Int(topLevelDomain) != nil {
            return "domain name \(goQuoted(domain)) invalid (top level domain \(goQuoted(topLevelDomain)) cannot be all-numeric)"
        }
        for (i, label) in parts.enumerated() {
            if i == parts.count - 1 && label.isEmpty { return nil }
            if !isDNS1123Label(label) {
                return "domain name \(goQuoted(domain)) invalid (label \(goQuoted(label)) invalid)"
            }
        }
        return nil
    }

    /// Istio's ValidateFQDN.
    static func fqdn(_ name: String) -> String? {
        dnsPreconditions(name) ?? dns1123Labels(name)
    }

    /// Istio's ValidateWildcardDomain: a domain whose first label may be a wildcard form.
    static func wildcardDomain(_ domain: String) -> String? {
        if let problem = dnsPreconditions(domain) { return problem }
        let parts = domain.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if !isWildcardDNS1123Label(parts[0]) {
            return "domain name \(goQuoted(domain)) invalid (label \(goQuoted(parts[0])) invalid)"
        }
        return parts.count > 1 ? dns1123Labels(parts[1]) : nil
    }

    static let outboundSNIFormat = "outbound_.<PORT>_._.<HOSTNAME>"

    /// Istio's rule for hosts of a VirtualService bound to a gateway: also accepts the SNI names
    /// Istio generates for AUTO_PASSTHROUGH (`outbound_.80_._.host`) when `sni` is set.
    static func wildcardDomainForGateway(sni: Bool, _ domain: String) -> String? {
        if let problem = dnsPreconditions(domain) { return problem }
        guard sni && domain.hasPrefix("outbound_") else { return wildcardDomain(domain) }
        let parts = domain.split(separator: "_", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4 else {
            return "domain name \(domain) invalid, should follow '\(outboundSNIFormat)' format"
        }
        let port = parts[1].trimmingDots, hostname = parts[3].trimmingDots
        if parts[0] != "outbound" {
            return "domain name \(goQuoted(domain)) invalid (label \(goQuoted(parts[0])) invalid)"
        }
        if !port.contains(where: { $0.isASCII && $0.isNumber }) {
            return "domain name \(goQuoted(domain)) invalid (label \(goQuoted(port)) invalid). should follow \(outboundSNIFormat) format"
        }
        if !hostname.contains(where: { $0.isASCII && $0.isLetter }) {
            return "domain name \(goQuoted(domain)) invalid (label \(goQuoted(hostname)) invalid). should follow \(outboundSNIFormat) format"
        }
        return nil
    }

    /// A `*` that is neither the whole host nor a leading `*.` label.
    static func partialWildcard(_ host: String) -> String? {
        if host.contains("*") && host.count != 1 && !host.hasPrefix("*.") {
            return "partial wildcard \(goQuoted(host)) not allowed"
        }
        return nil
    }

    static func port(_ port: Int) -> String? {
        (1...65535).contains(port) ? nil : "port number \(port) must be in the range 1..65535"
    }

    static func portName(_ name: String) -> String? {
        isDNS1123Label(name) ? nil : "invalid port name: \(name)"
    }

    // MARK: Kubernetes label syntax (Istio's labels.Instance.Validate)

    /// Every problem with the keys and values of a label map, keys in sorted order.
    static func labelProblems(_ labels: [String: String]?) -> [String] {
        guard let labels else { return [] }
        var problems: [String] = []
        for key in labels.keys.sorted() {
            if let problem = labelKeyProblem(key) { problems.append(problem) }
            if let value = labels[key], !isLabelValue(value) {
                problems.append("invalid tag value: \(goQuoted(value))")
            }
        }
        return problems
    }

    /// `[prefix/]name`: an optional DNS subdomain prefix (at most 253 characters) and a qualified
    /// name (at most 63).
    static func labelKeyProblem(_ key: String) -> String? {
        let pieces = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let prefix: String?, name: String
        switch pieces.count {
        case 1: prefix = nil; name = pieces[0]
        case 2: prefix = pieces[0]; name = pieces[1]
        default: return "invalid tag key: \(goQuoted(key))"
        }
        if let prefix {
            let prefixIsDNSName = prefix.split(separator: ".", omittingEmptySubsequences: false)
                .allSatisfy { isDNS1123LabelIgnoringLength(Substring($0)) }
            guard prefixIsDNSName else { return "invalid tag key: \(goQuoted(key))" }
        }
        guard isQualifiedName(name) else { return "invalid tag key: \(goQuoted(key))" }
        if let prefix, prefix.utf8.count > 253 { return "invalid tag key: \(goQuoted(key)) (DNS prefix is too long)" }
        if name.utf8.count > dns1123LabelMaxLength { return "invalid tag key: \(goQuoted(key)) (name is too long)" }
        return nil
    }

    /// Empty, or a qualified name. Istio does not bound a value's length.
    static func isLabelValue(_ value: String) -> Bool {
        value.isEmpty || isQualifiedName(value)
    }

    /// Alphanumeric at both ends; `-`, `_` and `.` allowed between.
    static func isQualifiedName(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") }
    }

    private static func isDNS1123LabelIgnoringLength(_ label: Substring) -> Bool {
        let bytes = Array(label.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlphanumeric(first), isAlphanumeric(last) else { return false }
        return bytes.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }

    /// A string quoted the way Go's `%q` prints it, so messages read as Istio's do.
    static func goQuoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}

extension String {
    /// Go's strings.Trim(s, ".").
    fileprivate var trimmingDots: String {
        String(drop { $0 == "." }.reversed().drop { $0 == "." }.reversed())
    }
}
