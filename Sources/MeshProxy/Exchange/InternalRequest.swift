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
        guard var forwardedFor else { return false }
        return forwardedFor.withUTF8 { isInternal(forwardedForBytes: UnsafeRawBufferPointer($0)) }
    }

    /// The same on the field's bytes, read where they are (the client's field): no string made.
    /// A value that is ASCII (an address always is) is trimmed of the spaces and tabs that
    /// `CharacterSet.whitespaces` holds among ASCII and handed to `inet_pton` from the stack;
    /// any other goes the way of a string, as it always did (`trimmingCharacters` and
    /// Foundation's character sets cost five allocations and a dozen reference counts per
    /// request with the field).
    static func isInternal(forwardedForBytes value: UnsafeRawBufferPointer) -> Bool {
        var isASCII = true
        for byte in value {
            if byte == UInt8(ascii: ",") { return false }
            if byte >= 0x80 { isASCII = false }
        }
        guard isASCII else { return isPrivate(String(decoding: value, as: UTF8.self).trimmingCharacters(in: .whitespaces)) }
        var start = 0
        var end = value.count
        while start < end, value[start] == UInt8(ascii: " ") || value[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, value[end - 1] == UInt8(ascii: " ") || value[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        let address = UnsafeRawBufferPointer(rebasing: value[start..<end])
        // `inet_pton` reads a C string: the address and a NUL, on the stack.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: address.count + 1) { cString in
            guard let base = cString.baseAddress else { return false }
            if let source = address.baseAddress { UnsafeMutableRawPointer(base).copyMemory(from: source, byteCount: address.count) }
            base[address.count] = 0
            return isPrivate(cString: base)
        }
    }

    /// Envoy's `Network::Utility::isInternalAddress`: 10/8, 172.16/12, 192.168/16 and loopback
    /// for IPv4; fc00::/7 and loopback for IPv6. Anything that is not an address is not internal.
    static func isPrivate(_ address: String) -> Bool {
        address.withCString { isPrivate(cString: $0) }
    }

    /// The same for a C string; the address's bytes read in place (an array of them was an
    /// allocation).
    private static func isPrivate(cString address: UnsafePointer<CChar>) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            return withUnsafeBytes(of: v4.s_addr) { bytes in  // network order
                bytes[0] == 10 || (bytes[0] == 172 && (16...31).contains(bytes[1])) || (bytes[0] == 192 && bytes[1] == 168)
                    || bytes[0] == 127
            }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            return withUnsafeBytes(of: v6) { bytes in
                let isLoopback = bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1
                return bytes[0] & 0xFE == 0xFC || isLoopback
            }
        }
        return false
    }
}
