/// IP address and CIDR syntax as Istio checks it (Go's netip.ParseAddr and ParsePrefix), and
/// Istio's list of port protocol names.
enum AddressRules {
    /// An IPv4 address, or an IPv6 address with an optional non-empty `%zone`.
    static func isIPAddress(_ text: String) -> Bool {
        if HostName.isIPv4(text) { return true }
        guard let percent = text.firstIndex(of: "%") else { return HostName.isIPv6(text) }
        let zone = text[text.index(after: percent)...]
        return !zone.isEmpty && HostName.isIPv6(String(text[..<percent]))
    }

    /// Istio's ValidateIPAddress.
    static func ipAddress(_ text: String) -> String? {
        isIPAddress(text) ? nil : "\(text) is not a valid IP"
    }

    /// Istio's ValidateIPSubnet: `a.b.c.d/nn`, `2001:db8::/32`, or a bare address.
    static func ipSubnet(_ text: String) -> String? {
        guard text.filter({ $0 == "/" }).count == 1 else { return ipAddress(text) }
        return isCIDR(text) ? nil : "\(text) is not a valid CIDR block"
    }

    /// Go's netip.ParsePrefix: an address without zone, then decimal bits without sign or leading
    /// zeros, at most 32 (IPv4) or 128 (IPv6).
    static func isCIDR(_ text: String) -> Bool {
        guard let slash = text.lastIndex(of: "/") else { return false }
        let address = String(text[..<slash]), bits = text[text.index(after: slash)...]
        guard !bits.isEmpty, bits.allSatisfy({ $0.isASCII && $0.isNumber }), bits == "0" || bits.first != "0",
            let count = Int(bits)
        else { return false }
        if HostName.isIPv4(address) { return count <= 32 }
        return HostName.isIPv6(address) && count <= 128
    }
}

/// Port protocols as Istio's protocol.Parse names them (case-insensitive); anything else is
/// unsupported, which Istio rejects in a ServiceEntry port.
enum IstioProtocol: String, CaseIterable {
    case grpc = "GRPC", grpcWeb = "GRPC-Web", http = "HTTP", httpProxy = "HTTP_PROXY", http2 = "HTTP2"
    case https = "HTTPS", tcp = "TCP", tls = "TLS", udp = "UDP", mongo = "Mongo", redis = "Redis", mysql = "MySQL"

    init?(parsing name: String) {
        let lower = name.lowercased()
        guard let match = IstioProtocol.allCases.first(where: { $0.rawValue.lowercased() == lower }) else { return nil }
        self = match
    }

    var isHTTP: Bool { [.http, .http2, .httpProxy, .grpc, .grpcWeb].contains(self) }
    var isTCP: Bool { [.tcp, .https, .tls, .mongo, .redis, .mysql].contains(self) }
    var isTLS: Bool { self == .https || self == .tls }
}
