import MeshHTTP2

/// Where the request fields the proxy itself reads are in the client's head (framing, Envoy's
/// `x-envoy-*` controls, ids, what stats and the access log show), found in one pass when the
/// head arrives. Each of them used to be its own case-insensitive scan of every field, a dozen
/// per request, nearly all for fields the request does not have.
struct KnownRequestFields {
    enum Name: CaseIterable {
        case contentLength, transferEncoding, expect, upgrade, contentType, userAgent
        case requestID, forwardedFor, originalPath
        case upstreamTimeout, maxRetries, retryOn
    }

    // The first index of each name; -1 when absent. Int32 keeps the struct to one cache line.
    private var contentLength: Int32 = -1
    private var transferEncoding: Int32 = -1
    private var expect: Int32 = -1
    private var upgrade: Int32 = -1
    private var contentType: Int32 = -1
    private var userAgent: Int32 = -1
    private var requestID: Int32 = -1
    private var forwardedFor: Int32 = -1
    private var originalPath: Int32 = -1
    private var upstreamTimeout: Int32 = -1
    private var maxRetries: Int32 = -1
    private var retryOn: Int32 = -1

    init(_ fields: HeaderFields) {
        var index: Int32 = 0
        fields.forEachField { name, _ in
            defer { index += 1 }
            // Told apart by length first: most fields are none of these and cost one switch.
            switch name.count {
            case 6: Self.note(&expect, index, name, "expect")
            case 7: Self.note(&upgrade, index, name, "upgrade")
            case 10: Self.note(&userAgent, index, name, "user-agent")
            case 12:
                if !Self.note(&requestID, index, name, "x-request-id") { Self.note(&contentType, index, name, "content-type") }
            case 14: Self.note(&contentLength, index, name, "content-length")
            case 15: Self.note(&forwardedFor, index, name, "x-forwarded-for")
            case 16: Self.note(&retryOn, index, name, "x-envoy-retry-on")
            case 17: Self.note(&transferEncoding, index, name, "transfer-encoding")
            case 19: Self.note(&maxRetries, index, name, "x-envoy-max-retries")
            case 21: Self.note(&originalPath, index, name, "x-envoy-original-path")
            case 30: Self.note(&upstreamTimeout, index, name, "x-envoy-upstream-rq-timeout-ms")
            default: break
            }
        }
    }

    /// The index of the first field called `name`, or nil.
    subscript(name: Name) -> Int? {
        let index: Int32
        switch name {
        case .contentLength: index = contentLength
        case .transferEncoding: index = transferEncoding
        case .expect: index = expect
        case .upgrade: index = upgrade
        case .contentType: index = contentType
        case .userAgent: index = userAgent
        case .requestID: index = requestID
        case .forwardedFor: index = forwardedFor
        case .originalPath: index = originalPath
        case .upstreamTimeout: index = upstreamTimeout
        case .maxRetries: index = maxRetries
        case .retryOn: index = retryOn
        }
        return index < 0 ? nil : Int(index)
    }

    /// Records `index` for `lowercase` when `name` is it and it was not seen before; whether it is.
    @discardableResult @inline(__always)
    private static func note(_ slot: inout Int32, _ index: Int32, _ name: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard FieldName.equalsLowercase(name, lowercase) else { return false }
        if slot < 0 { slot = index }
        return true
    }
}
