/// Envoy's response flags (the `%RESPONSE_FLAGS%` of access logs and Istio's `response_flags`
/// label), as a bit set so that recording one costs nothing.
public struct ResponseFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noHealthyUpstream = ResponseFlags(rawValue: 1 << 0)              // UH
    public static let upstreamRequestTimeout = ResponseFlags(rawValue: 1 << 1)         // UT
    public static let upstreamRemoteReset = ResponseFlags(rawValue: 1 << 2)            // UR
    public static let upstreamConnectionFailure = ResponseFlags(rawValue: 1 << 3)      // UF
    public static let upstreamConnectionTermination = ResponseFlags(rawValue: 1 << 4)  // UC
    public static let upstreamOverflow = ResponseFlags(rawValue: 1 << 5)               // UO
    public static let upstreamRetryLimitExceeded = ResponseFlags(rawValue: 1 << 6)     // URX
    public static let noRouteFound = ResponseFlags(rawValue: 1 << 7)                   // NR
    public static let delayInjected = ResponseFlags(rawValue: 1 << 8)                  // DI
    public static let faultInjected = ResponseFlags(rawValue: 1 << 9)                  // FI
    public static let downstreamConnectionTermination = ResponseFlags(rawValue: 1 << 10)  // DC
    public static let upstreamProtocolError = ResponseFlags(rawValue: 1 << 11)         // UPE
    public static let downstreamProtocolError = ResponseFlags(rawValue: 1 << 12)       // DPE
    public static let streamIdleTimeout = ResponseFlags(rawValue: 1 << 13)             // SI
    public static let noClusterFound = ResponseFlags(rawValue: 1 << 14)                // NC
    public static let downstreamRemoteReset = ResponseFlags(rawValue: 1 << 15)         // DR

    /// Short codes in Envoy's order (`ResponseFlagUtils`' table), joined by commas as Envoy
    /// prints them.
    private static let codes: [(ResponseFlags, String)] = [
        (.noHealthyUpstream, "UH"), (.upstreamRequestTimeout, "UT"), (.upstreamRemoteReset, "UR"),
        (.upstreamConnectionFailure, "UF"), (.upstreamConnectionTermination, "UC"), (.upstreamOverflow, "UO"),
        (.noRouteFound, "NR"), (.delayInjected, "DI"), (.faultInjected, "FI"), (.downstreamConnectionTermination, "DC"),
        (.upstreamRetryLimitExceeded, "URX"), (.streamIdleTimeout, "SI"), (.downstreamProtocolError, "DPE"),
        (.upstreamProtocolError, "UPE"), (.noClusterFound, "NC"), (.downstreamRemoteReset, "DR"),
    ]

    /// `-` when empty, as in Envoy's access log.
    public var description: String {
        if isEmpty { return "-" }
        var out = ""
        for (flag, code) in Self.codes where contains(flag) {
            if !out.isEmpty { out += "," }
            out += code
        }
        return out
    }

    /// Parses `UF,URX` back into flags (unknown codes are ignored); `-` is empty.
    public init(codes text: String) {
        var flags = ResponseFlags()
        for part in text.split(separator: ",") {
            if let match = Self.codes.first(where: { $0.1 == part }) { flags.insert(match.0) }
        }
        self = flags
    }
}
