import MeshHTTP2

/// Where the request fields the proxy itself reads are in the client's head (framing, Envoy's
/// `x-envoy-*` controls, ids, what stats and the access log show), found in one pass when the
/// head arrives. Each of them used to be its own case-insensitive scan of every field, a dozen
/// per request, nearly all for fields the request does not have.
struct KnownRequestFields {
    enum Name: Int, CaseIterable {
        case contentLength, transferEncoding, expect, upgrade, contentType, userAgent
        case requestID, forwardedFor, originalPath
        case upstreamTimeout, maxRetries, retryOn
        /// CORS: whether the request comes from a browser page of another origin.
        case origin
        /// The first Host field line, and a second one if any (RFC 9112 §3.2: refused).
        case host, secondHost
        /// Whether the fields it names must be left out of the forwarded head (rare).
        case connection
    }

    /// The first index of each name by its raw value; -1 when absent. Inline rather than an
    /// array: no allocation. Not a SIMD vector: its 64-byte alignment made every head object
    /// that holds this an aligned allocation (`posix_memalign`, dearer than `malloc`).
    private var indexes = InlineArray<16, Int32>(repeating: -1)

    /// Borrowing: an initializer owns its arguments, and the fields' storage was retained for
    /// the call and released after it.
    init(_ fields: borrowing HeaderFields) {
        var index: Int32 = 0
        fields.forEachField { name, _ in
            defer { index += 1 }
            // Told apart by length first: most fields are none of these and cost one switch.
            switch name.count {
            case 4 where FieldName.equalsLowercase(name, "host"):
                if indexes[Name.host.rawValue] < 0 {
                    indexes[Name.host.rawValue] = index
                } else if indexes[Name.secondHost.rawValue] < 0 {
                    indexes[Name.secondHost.rawValue] = index
                }
            case 6:
                if !note(.expect, index, name, "expect") { note(.origin, index, name, "origin") }
            case 7: note(.upgrade, index, name, "upgrade")
            case 10:
                if !note(.userAgent, index, name, "user-agent") { note(.connection, index, name, "connection") }
            case 12:
                if !note(.requestID, index, name, "x-request-id") { note(.contentType, index, name, "content-type") }
            case 14: note(.contentLength, index, name, "content-length")
            case 15: note(.forwardedFor, index, name, "x-forwarded-for")
            case 16: note(.retryOn, index, name, "x-envoy-retry-on")
            case 17: note(.transferEncoding, index, name, "transfer-encoding")
            case 19: note(.maxRetries, index, name, "x-envoy-max-retries")
            case 21: note(.originalPath, index, name, "x-envoy-original-path")
            case 30: note(.upstreamTimeout, index, name, "x-envoy-upstream-rq-timeout-ms")
            default: break
            }
        }
    }

    /// Records a field appended after the scan (HTTP/2's Host made from `:authority`), unless one
    /// of that name was found.
    mutating func noteAppended(_ name: Name, at index: Int) {
        if indexes[name.rawValue] < 0 { indexes[name.rawValue] = Int32(index) }
    }

    /// The index of the first field called `name`, or nil.
    subscript(name: Name) -> Int? {
        let index = indexes[name.rawValue]
        return index < 0 ? nil : Int(index)
    }

    /// Records `index` for `known` when `name` is `lowercase` and was not seen before; whether it is.
    @discardableResult @inline(__always)
    private mutating func note(_ known: Name, _ index: Int32, _ name: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard FieldName.equalsLowercase(name, lowercase) else { return false }
        if indexes[known.rawValue] < 0 { indexes[known.rawValue] = index }
        return true
    }
}
