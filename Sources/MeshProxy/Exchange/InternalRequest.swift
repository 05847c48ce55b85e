import Foundation

/// Envoy's test of whether a request comes from inside the mesh (`mutateRequestHeaders` in
/// conn_manager_utility.cc). Only an internal request may steer Envoy's router with the
/// `x-envoy-*` headers (`x-envoy-upstream-rq-timeout-ms`, `x-envoy-max-retries`,
/// `x-envoy-retry-on`...); for any other Envoy strips them before routing, and marks an internal
/// one `x-envoy-internal: true`.
///
/// A request is internal when, after the proxy's own edit, its `x-forwarded-for` holds a single
/// address and that address is private. Istio's sidecar runs without `use_remote_address`, so
/// the edit appends nothing and an application's request, which carries no `x-forwarded-for`,
/// is external: its `x-envoy-*` headers are ignored (istio/istio#14923, #19550), unless
/// `PILOT_SIDECAR_USE_REMOTE_ADDRESS` puts the local address in `x-forwarded-for`.
enum InternalRequest {
    /// - Parameter forwardedFor: the `x-forwarded-for` as the proxy forwards it.
    static func isInternal(forwardedFor: String?) -> Bool {
        guard let forwardedFor, !forwardedFor.utf8.contains(UInt8(ascii: ",")) else { return false }
        return isPrivate(forwardedFor.trimmingCharacters(in: .whitespaces))
    }

    /// Envoy's `Network::Utility::isInternalAddress`: 10/8, 172.16/12, 192.168/16 and loopback
    /// for IPv4; fc00::/7 and loopback for IPv6. Anything that is not an address is not internal.
    static func isPrivate(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let bytes = withUnsafeBytes(of: v4.s_addr) { Array($0) }  // network order
            return bytes[0] == 10 || (bytes[0] == 172 && (16...31).contains(bytes[1])) || (bytes[0] == 192 && bytes[1] == 168)
                || bytes[0] == 127
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            let isLoopback = bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1
            return bytes[0] & 0xFE == 0xFC || isLoopback
        }
        return false
    }
}
