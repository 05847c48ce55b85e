import NIOCore

/// gRPC's own deadline, the `grpc-timeout` request header (`1..8 digits` then one of `H M S m u n`).
/// Istio sets `max_grpc_timeout` on every route (route.go `setTimeout`): the route's timeout, or
/// 0 (no cap) when the VirtualService sets none. Envoy then times a gRPC request by its
/// `grpc-timeout`, capped at that maximum; without the header, by the maximum alone.
enum GRPCTimeout {
    /// The header's value in whole milliseconds (Envoy truncates); nil when absent or malformed.
    static func milliseconds(_ value: String?) -> Int64? {
        guard let value, value.utf8.count >= 2, value.utf8.count <= 9, let unit = value.utf8.last else { return nil }
        let digits = value.utf8.dropLast()
        guard digits.allSatisfy({ $0 &- UInt8(ascii: "0") < 10 }), let amount = Int64(String(decoding: digits, as: UTF8.self)) else { return nil }
        switch unit {
        case UInt8(ascii: "H"): return amount * 3_600_000
        case UInt8(ascii: "M"): return amount * 60_000
        case UInt8(ascii: "S"): return amount * 1_000
        case UInt8(ascii: "m"): return amount
        case UInt8(ascii: "u"): return amount / 1_000
        case UInt8(ascii: "n"): return amount / 1_000_000
        default: return nil
        }
    }

    /// The timeout Envoy applies to a gRPC request: its header, capped at the route's timeout
    /// (`maxMilliseconds`, 0 = no cap); nil for none. A header of 0 ms counts as no header.
    static func effective(header: String?, routeMilliseconds: Int64) -> TimeAmount? {
        var timeout = milliseconds(header) ?? 0
        if routeMilliseconds > 0 && (timeout == 0 || timeout > routeMilliseconds) { timeout = routeMilliseconds }
        return timeout > 0 ? .milliseconds(timeout) : nil
    }
}
