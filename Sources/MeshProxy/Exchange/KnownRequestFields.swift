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
    /// Bit `i` set: field `i` has a name the forwarded head must judge (`isOrdinary(at:)`).
    /// Fields past the 64th are always judged.
    private(set) var judgedFields: UInt64 = 0
    /// The fields' header list size as HTTP/2 counts it (RFC 9113 §6.5.2: each name's and value's
    /// length plus 32), added up in the same pass (`Exchange.requestHeadListSize`). Fields
    /// appended after the scan (`noteAppended`) are not counted.
    private(set) var headerListSize = 0

    /// Borrowing: an initializer owns its arguments, and the fields' storage was retained for
    /// the call and released after it.
    init(_ fields: borrowing HeaderFields) {
        var index: Int32 = 0
        var judged: UInt64 = 0
        var listSize = 0
        fields.forEachField { name, value in
            listSize &+= name.count &+ value.count &+ 32
            // Noted whatever the index; judged fields past the 64th are all judged anyway.
            if noteReturningJudged(name, index), index < 64 { judged |= 1 << UInt64(index) }
            index += 1
        }
        self.judgedFields = judged
        self.headerListSize = listSize
    }

    /// Notes field `index` if the proxy reads its name, and returns whether the forwarded head
    /// must judge it (`isOrdinary(at:)`). Errs towards judging: a name judged needlessly only
    /// goes through the full tests. One switch on the length (most names are none of these),
    /// then the names of that length; the `x-envoy-` prefix (every Envoy name the writer
    /// judges has it) as one eight-byte word: OR 0x20 lower-cases letters and keeps `-`, and
    /// may match other bytes wrongly, which only sends the name to the full tests.
    @inline(__always)
    private mutating func noteReturningJudged(_ name: UnsafeRawBufferPointer, _ index: Int32) -> Bool {
        let count = name.count
        guard count > 0, name[0] != UInt8(ascii: ":") else { return true }
        let hasEnvoyPrefix = count > 8 && name.loadUnaligned(as: UInt64.self) | 0x2020_2020_2020_2020 == Self.envoyPrefix
        return noteReturningJudged(name, index, count: count, hasEnvoyPrefix: hasEnvoyPrefix) || hasEnvoyPrefix
    }

    /// The switch of `noteReturningJudged(_:_:)`: whether the name is one judged (an `x-envoy-`
    /// one is, whatever this says).
    @inline(__always)
    private mutating func noteReturningJudged(_ name: UnsafeRawBufferPointer, _ index: Int32, count: Int, hasEnvoyPrefix: Bool) -> Bool {
        switch count {
        case 2: return Self.isNamed(name, "te")
        case 4:
            guard Self.isNamed(name, "host") else { return false }
            if indexes[Name.host.rawValue] < 0 {
                indexes[Name.host.rawValue] = index
            } else if indexes[Name.secondHost.rawValue] < 0 {
                indexes[Name.secondHost.rawValue] = index
            }
            return true
        case 6:
            if note(.expect, index, name, "expect") { return true }
            note(.origin, index, name, "origin")
            return false
        case 7:
            return note(.upgrade, index, name, "upgrade") || Self.isNamed(name, "trailer")
        case 10:
            if note(.userAgent, index, name, "user-agent") { return false }
            return note(.connection, index, name, "connection") || Self.isNamed(name, "keep-alive")
        case 12:
            if note(.requestID, index, name, "x-request-id") { return true }
            note(.contentType, index, name, "content-type")
            return false
        case 14:
            if note(.contentLength, index, name, "content-length") { return false }
            return Self.isNamed(name, "http2-settings")
        case 15: return note(.forwardedFor, index, name, "x-forwarded-for")
        case 16:
            if hasEnvoyPrefix {
                note(.retryOn, index, name, "x-envoy-retry-on")
                return true
            }
            return Self.isNamed(name, "proxy-connection")
        case 17:
            return note(.transferEncoding, index, name, "transfer-encoding") || Self.isNamed(name, "x-forwarded-proto")
        case 18: return hasEnvoyPrefix || Self.isNamed(name, "proxy-authenticate")
        case 19:
            if hasEnvoyPrefix {
                note(.maxRetries, index, name, "x-envoy-max-retries")
                return true
            }
            return Self.isNamed(name, "proxy-authorization")
        case 21:
            if hasEnvoyPrefix { note(.originalPath, index, name, "x-envoy-original-path") }
            return hasEnvoyPrefix
        case 30:
            if hasEnvoyPrefix { note(.upstreamTimeout, index, name, "x-envoy-upstream-rq-timeout-ms") }
            return hasEnvoyPrefix
        default:
            return hasEnvoyPrefix
        }
    }

    /// Whether field `index` is an ordinary one: its name is none that `ForwardedHeaders.writeRequest`
    /// drops, replaces or notes (hop-by-hop, Host, Expect, `x-request-id`, `x-forwarded-*`,
    /// `x-envoy-*`) and none that an HTTP/2 header block leaves out (connection-specific,
    /// pseudo-header, empty), so it is forwarded as it is without those tests (unless a
    /// Connection field names it: the writer does not ask then).
    @inline(__always)
    func isOrdinary(at index: Int) -> Bool {
        index < 64 && judgedFields & (1 << UInt64(index)) == 0
    }

    /// Whether `name` is `lowercase` but for ASCII case: on typed bytes, whose comparison
    /// (`FieldName`'s) inlines where the raw buffer's generic one was a call.
    @inline(__always)
    private static func isNamed(_ name: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        FieldName.equalsLowercase(name.assumingMemoryBound(to: UInt8.self), lowercase)
    }

    /// `x-envoy-` as the little-endian word of its eight bytes (`x` first).
    private static let envoyPrefix: UInt64 = 0x2D79_6F76_6E65_2D78

    /// Records a field appended after the scan (HTTP/2's Host made from `:authority`), unless one
    /// of that name was found.
    mutating func noteAppended(_ name: Name, at index: Int) {
        if indexes[name.rawValue] < 0 { indexes[name.rawValue] = Int32(index) }
        // Every name noted is one the forwarded head judges.
        if index < 64 { judgedFields |= 1 << UInt64(index) }
    }

    /// The index of the first field called `name`, or nil.
    subscript(name: Name) -> Int? {
        let index = indexes[name.rawValue]
        return index < 0 ? nil : Int(index)
    }

    /// Records `index` for `known` when `name` is `lowercase` and was not seen before; whether it is.
    @discardableResult @inline(__always)
    private mutating func note(_ known: Name, _ index: Int32, _ name: UnsafeRawBufferPointer, _ lowercase: StaticString) -> Bool {
        guard Self.isNamed(name, lowercase) else { return false }
        if indexes[known.rawValue] < 0 { indexes[known.rawValue] = index }
        return true
    }
}
