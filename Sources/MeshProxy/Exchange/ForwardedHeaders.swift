import MeshHTTP2
import NIOCore
import NIOHTTP1

/// The fields of a forwarded request or response, as byte fields: the response's edited in
/// place, the request's built in one pass over the client's fields. Each `HTTPHeaders` edit
/// (`remove`, `replaceOrAdd`, `contains`) is a scan of every field, and the first one copies the
/// whole list, retaining each string: doing Envoy's header rules as edits cost more than the rest
/// of the request path together.
enum ForwardedHeaders {
    /// What the response passes on: hop-by-hop fields gone (and those the Connection header
    /// names), `server: envoy` (`ServerHeader`), `date` kept or added, `x-envoy-upstream-service-time`
    /// set: `writeResponse`'s fields, written into new storage that replaces `fields` (the
    /// slow path, where route rules, CORS or `set-cookie` edit the head further, and tests with a
    /// fixed date). Returns whether the upstream sent `content-length`, which decides the framing.
    static func response(_ fields: inout HeaderFields, serviceTime: Int?, date: String) -> Bool {
        var written = HeaderFields(byteCapacity: 256, fieldCapacity: fields.count + 4)
        var notAsked: String?
        var given = GivenDate(text: date)
        let hasContentLength = writeResponse(
            fields, into: &written, serviceTime: serviceTime, dates: &given, at: .uptimeNanoseconds(0), grpcStatus: &notAsked,
            wantsGRPCStatus: false)
        fields = written
        return hasContentLength
    }

    /// The fields a response passes on, written to `sink` in one pass over the upstream's fields
    /// (which stay as they are): what a client gets when nothing else edits the head
    /// (`Exchange.sendHTTP2ResponseHead`, `sendHTTP1ResponseHead`). Removing fields and appending
    /// the proxy's own to the `HeaderFields` cost a pass, a record store per field and a copy of
    /// each appended field before the header block copied them again.
    /// `grpcStatus`, when asked for, is the first `grpc-status` passed on; `date`, when added, is
    /// `dates`' at `now` (the loop's `HTTPDateCache`, or a `GivenDate`). `fromHTTP2`: the fields came from an HTTP/2 upstream, whose codec
    /// refuses a Connection header (and every other connection-specific field), so none is
    /// looked for before the pass.
    static func writeResponse<Sink: ForwardedFieldSink, Dates: ResponseDateSource>(
        _ fields: HeaderFields, into sink: inout Sink, serviceTime: Int?, dates: inout Dates, at now: NIODeadline,
        grpcStatus: inout String?,
        wantsGRPCStatus: Bool, fromHTTP2: Bool = false
    ) -> Bool {
        // The fields a Connection header names go too; it may come after them, so it is read
        // first.
        var hasConnection = false
        if !fromHTTP2 {
            fields.forEachField { name, _ in
                if name.count == 10, FieldName.equalsLowercase(name, "connection") { hasConnection = true }
            }
        }
        guard hasConnection else {
            // No list at all (the static empty one cost a lazy global's test per response).
            return writeResponse(
                fields, into: &sink, serviceTime: serviceTime, dates: &dates, at: now, grpcStatus: &grpcStatus, wantsGRPCStatus: wantsGRPCStatus,
                named: nil)
        }
        var named: [String] = []
        fields.forEachField { name, value in
            if name.count == 10, FieldName.equalsLowercase(name, "connection") {
                var ignored = false
                HeaderRules.noteHopByHop(name, value, named: &named, keepTrailersTE: &ignored)
            }
        }
        return writeResponse(
            fields, into: &sink, serviceTime: serviceTime, dates: &dates, at: now, grpcStatus: &grpcStatus, wantsGRPCStatus: wantsGRPCStatus,
            named: named)
    }

    /// `writeResponse` once the fields a Connection header names are known (lower-case; nil for
    /// none). Each field is judged by one switch on its name's length: the proxy's own rules, the
    /// hop-by-hop fields (`HeaderRules.isHopByHop`, whose lengths the switch names none of), and
    /// the names an HTTP/2 head may not carry (`host`, `http2-settings`, pseudo-headers), which
    /// alone go to the sink's tested `appendField`; every other field is passed on as judged
    /// (`appendJudgedField`).
    private static func writeResponse<Sink: ForwardedFieldSink, Dates: ResponseDateSource>(
        _ fields: HeaderFields, into sink: inout Sink, serviceTime: Int?, dates: inout Dates, at now: NIODeadline,
        grpcStatus: inout String?,
        wantsGRPCStatus: Bool, named: [String]?
    ) -> Bool {
        var keepTrailersTE = false
        var sawDate = false
        var hasContentLength = false
        let replacesServiceTime = serviceTime != nil
        fields.forEachField { name, value in
            var judged = true
            var isGRPCStatus = false
            switch name.count {
            case 0:
                judged = false
            case 4 where FieldName.equalsLowercase(name, "date"):
                sawDate = true
            case 4 where FieldName.equalsLowercase(name, "host"):
                judged = false
            case 6 where FieldName.equalsLowercase(name, "server"):
                return
            case 11 where wantsGRPCStatus && FieldName.equalsLowercase(name, "grpc-status"):
                isGRPCStatus = true
            case 14 where FieldName.equalsLowercase(name, "content-length"):
                hasContentLength = true
            case 14 where FieldName.equalsLowercase(name, "http2-settings"):
                judged = false
            case 29 where replacesServiceTime && FieldName.equalsLowercase(name, "x-envoy-upstream-service-time"):
                return
            default:
                // The hop-by-hop names (none of the lengths above) from their one list.
                if HeaderRules.isHopByHop(name) {
                    keepTrailersTE = keepTrailersTE || HeaderRules.isTrailersTE(hopByHop: name, value)
                    return
                }
            }
            if let named, named.contains(String(decoding: name, as: UTF8.self).lowercased()) { return }
            if isGRPCStatus, grpcStatus == nil { grpcStatus = String(decoding: value, as: UTF8.self) }
            if judged && name[0] != UInt8(ascii: ":") {
                sink.appendJudgedField(name: name, value: value)
            } else {
                sink.appendField(name: name, value: value)
            }
        }
        if keepTrailersTE { sink.appendOwnField(name: "te", value: "trailers") }
        sink.appendOwnField(name: "server", value: ServerHeader.value)
        if !sawDate { dates.withDateBytes(at: now) { sink.appendOwnField(name: "date", value: $0) } }
        if let serviceTime { sink.appendDecimalField(name: "x-envoy-upstream-service-time", value: serviceTime) }
        return hasContentLength
    }

    /// What the request passes on: hop-by-hop fields, `expect` and Envoy's control headers
    /// gone; Host set to `authority` (in the first Host's place); `x-envoy-original-path` when
    /// the path was rewritten; `x-forwarded-for` (when given), `x-forwarded-proto`,
    /// `x-request-id` and `x-envoy-expected-rq-timeout-ms` as Envoy sets them, and
    /// `x-envoy-attempt-count` (Istio sets `include_request_attempt_count` on every virtual
    /// host: 1 for the first try, 2 for the first retry...), and `x-envoy-internal: true` for an
    /// internal request (`InternalRequest`; the client's own value never passes).
    static func request(
        _ client: HeaderFields, authority: String, rewrittenFrom originalPath: String?, forwardedFor: String?,
        requestID: RequestID.Forwarded, expectedTimeoutMilliseconds: Int64?, attempt: Int = 1, isInternal: Bool = false
    ) -> HeaderFields {
        var fields = HeaderFields(byteCapacity: 512, fieldCapacity: client.count + 7)
        writeRequest(
            client, into: &fields, authority: authority, rewrittenFrom: originalPath, forwardedFor: forwardedFor, requestID: requestID,
            expectedTimeoutMilliseconds: expectedTimeoutMilliseconds, attempt: attempt, isInternal: isInternal)
        return fields
    }

    /// The same fields, appended to `sink` in order: byte fields (`request`), or `name: value`
    /// lines written straight into an HTTP/1.1 upstream's outbound buffer. `known`: the client
    /// fields' index (`KnownRequestFields`) when the caller has it: it tells whether there is a
    /// Connection field, and which fields are ordinary (passed on with no test of their names).
    static func writeRequest<Sink: ForwardedFieldSink>(
        _ client: HeaderFields, into sink: inout Sink, authority: String, rewrittenFrom originalPath: String?, forwardedFor: String?,
        requestID: RequestID.Forwarded, expectedTimeoutMilliseconds: Int64?, attempt: Int, isInternal: Bool,
        known: KnownRequestFields? = nil, hostAfterFields: Bool = false
    ) {
        // The fields a Connection header names go too; it may come after them, so it is read
        // first (rare: most requests have no Connection header, or only `keep-alive`/`close`).
        // The caller may know already (`KnownRequestFields`), which spares a pass over the fields.
        var hasConnection = false
        if let known {
            hasConnection = known[.connection] != nil
        } else {
            client.forEachField { name, _ in
                if name.count == 10, FieldName.equalsLowercase(name, "connection") { hasConnection = true }
            }
        }
        guard hasConnection else {
            // The usual request: no list (the static empty one cost a `swift_once` per request,
            // a local `[]` a release).
            writeRequest(
                client, into: &sink, authority: authority, rewrittenFrom: originalPath, forwardedFor: forwardedFor, requestID: requestID,
                expectedTimeoutMilliseconds: expectedTimeoutMilliseconds, attempt: attempt, isInternal: isInternal, named: nil,
                judgedFields: known?.judgedFields ?? .max, hostIndex: known?[.host] ?? -1, hostAfterFields: hostAfterFields)
            return
        }
        var named: [String] = []
        client.forEachField { name, value in
            if name.count == 10, FieldName.equalsLowercase(name, "connection") {
                var ignored = false
                HeaderRules.noteHopByHop(name, value, named: &named, keepTrailersTE: &ignored)
            }
        }
        writeRequest(
            client, into: &sink, authority: authority, rewrittenFrom: originalPath, forwardedFor: forwardedFor, requestID: requestID,
            expectedTimeoutMilliseconds: expectedTimeoutMilliseconds, attempt: attempt, isInternal: isInternal, named: named.isEmpty ? nil : named,
            judgedFields: .max, hostIndex: -1, hostAfterFields: hostAfterFields)
    }

    /// `writeRequest` once the fields a Connection header names are known (lower-case; nil for
    /// none). `judgedFields`: bit `i` clear when field `i` is ordinary (`KnownRequestFields.isOrdinary(at:)`,
    /// and no Connection field names it): appended as it is, its name tested for nothing.
    /// `hostIndex`: the first Host field's index when known (`KnownRequestFields`), else -1.
    /// `hostAfterFields`: the client's Host is one more field after the others (an HTTP/2 head's
    /// `:authority`, `DownstreamRequestHead.hostIsAuthority`).
    private static func writeRequest<Sink: ForwardedFieldSink>(
        _ client: HeaderFields, into sink: inout Sink, authority: String, rewrittenFrom originalPath: String?, forwardedFor: String?,
        requestID: RequestID.Forwarded, expectedTimeoutMilliseconds: Int64?, attempt: Int, isInternal: Bool, named: [String]?,
        judgedFields: UInt64, hostIndex: Int, hostAfterFields: Bool
    ) {
        var keepTrailersTE = false
        var placedHost = false
        var sawProto = false
        var sawRequestID = false
        var sawOriginalPath = false
        var index = 0
        client.forEachField { name, value in
            let fieldIndex = index
            index += 1
            if fieldIndex < 64 && judgedFields & (1 << UInt64(fieldIndex)) == 0 {
                sink.appendOrdinaryField(name: name, value: value)
                return
            }
            // Host (never hop-by-hop) first: the first one found by its index, with no tests.
            if fieldIndex == hostIndex || (name.count == 4 && FieldName.equalsLowercase(name, "host")) {
                if placedHost { return }
                placedHost = true
                if let named, named.contains(String(decoding: name, as: UTF8.self).lowercased()) { return }
                // The client's spelling of the name, the route's authority as the value.
                appendHost(authority, named: name, into: &sink)
                return
            }
            if HeaderRules.isHopByHop(name) {
                keepTrailersTE = keepTrailersTE || HeaderRules.isTrailersTE(hopByHop: name, value)
                return
            }
            switch name.count {
            case 6 where FieldName.equalsLowercase(name, "expect"):
                return
            case 12 where FieldName.equalsLowercase(name, "x-request-id"):
                sawRequestID = true
            case 15 where forwardedFor != nil && FieldName.equalsLowercase(name, "x-forwarded-for"):
                return
            case 16 where FieldName.equalsLowercase(name, "x-envoy-internal"):
                return
            case 17 where FieldName.equalsLowercase(name, "x-forwarded-proto"):
                sawProto = true
            case 21 where FieldName.equalsLowercase(name, "x-envoy-original-path"):
                sawOriginalPath = true
            case 21 where FieldName.equalsLowercase(name, "x-envoy-attempt-count"):
                return
            case 30 where (expectedTimeoutMilliseconds != nil || !isInternal) && FieldName.equalsLowercase(name, "x-envoy-expected-rq-timeout-ms"):
                return
            default:
                if HeaderRules.isEnvoyControlHeader(name) { return }
            }
            if let named, named.contains(String(decoding: name, as: UTF8.self).lowercased()) { return }
            sink.appendField(name: name, value: value)
        }
        if hostAfterFields && !placedHost {
            // Where that field would come, as the loop places a Host field.
            placedHost = true
            if !(named?.contains("host") ?? false) {
                let name: StaticString = "host"
                appendHost(authority, named: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), into: &sink)
            }
        }
        if keepTrailersTE { sink.appendField(name: "te", value: "trailers") }
        // The proxy's own fields (but Host, which an h2c stream turns into `:authority`) as
        // literals: a sink may skip the tests a forwarded name needs.
        if let originalPath, !sawOriginalPath { sink.appendOwnField(name: "x-envoy-original-path", value: originalPath) }
        if !placedHost { sink.appendField(name: "host", value: authority) }
        if let forwardedFor { sink.appendOwnField(name: "x-forwarded-for", value: forwardedFor) }
        if !sawProto { sink.appendOwnField(name: "x-forwarded-proto", value: "http") }
        if !sawRequestID {
            switch requestID {
            case .text(let text): sink.appendOwnField(name: "x-request-id", value: text)
            case .drawn(let id): id.withUTF8 { sink.appendOwnField(name: "x-request-id", value: $0) }
            case .empty: sink.appendOwnField(name: "x-request-id", value: UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
        if let expectedTimeoutMilliseconds {
            sink.appendDecimalField(name: "x-envoy-expected-rq-timeout-ms", value: Int(truncatingIfNeeded: expectedTimeoutMilliseconds))
        }
        sink.appendDecimalField(name: "x-envoy-attempt-count", value: attempt)
        if isInternal { sink.appendOwnField(name: "x-envoy-internal", value: "true") }
    }

    /// Appends Host as `name` with the route's authority as its value, the authority's bytes read
    /// in place (a mutable copy for `withUTF8` retained the string).
    @inline(__always)
    private static func appendHost<Sink: ForwardedFieldSink>(_ authority: String, named name: UnsafeRawBufferPointer, into sink: inout Sink) {
        let placed: Void? = authority.utf8.withContiguousStorageIfAvailable {
            sink.appendHostField(name: name, value: UnsafeRawBufferPointer($0))
        }
        if placed == nil {
            var contiguous = authority
            contiguous.withUTF8 { sink.appendHostField(name: name, value: UnsafeRawBufferPointer($0)) }
        }
    }
}

/// Where a forwarded response's `date` comes from when the upstream sent none.
protocol ResponseDateSource {
    /// Calls `body` with the date's bytes at `now`.
    mutating func withDateBytes(at now: NIODeadline, _ body: (UnsafeRawBufferPointer) -> Void)
}

/// The loop's once-a-second date.
extension HTTPDateCache: ResponseDateSource {
    mutating func withDateBytes(at now: NIODeadline, _ body: (UnsafeRawBufferPointer) -> Void) {
        withCurrentBytes(at: now, body)
    }
}

/// A date given as text, whatever the time.
struct GivenDate: ResponseDateSource {
    let text: String

    func withDateBytes(at _: NIODeadline, _ body: (UnsafeRawBufferPointer) -> Void) {
        let count = text.utf8.count
        text.withCString { body(UnsafeRawBufferPointer(start: $0, count: count)) }
    }
}

/// Where forwarded fields go, in order: byte fields (`HeaderFields`), or `name: value` CRLF
/// lines in an outbound buffer (`ByteBuffer`).
protocol ForwardedFieldSink {
    mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    mutating func appendField(name: String, value: String)
    /// One of the proxy's own fields: `name` is lower-case, allowed in HTTP/2 and not Host (a
    /// sink may skip the tests a forwarded name needs).
    mutating func appendOwnField(name: StaticString, value: UnsafeRawBufferPointer)
    /// A client's field judged ordinary (`KnownRequestFields.isOrdinary(at:)`): not empty, not a
    /// pseudo-header, Host, or any field HTTP/2 or the forwarded head treats itself.
    mutating func appendOrdinaryField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    /// The Host field placed where the client's first one was: `name` is its spelling of `host`.
    mutating func appendHostField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
    /// A field of the response head's upstream fields that `ForwardedHeaders.writeResponse` has
    /// judged passable: not empty, a pseudo-header or a name HTTP/2 forbids (in any case).
    mutating func appendJudgedField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)
}

extension ForwardedFieldSink {
    /// Appends `name: value` with the value's decimal digits written on the stack (`DecimalText`):
    /// `x-envoy-upstream-service-time` and `x-envoy-attempt-count` with no string made.
    mutating func appendDecimalField(name: StaticString, value: Int) {
        DecimalText.withBytes(of: value) { digits in
            appendOwnField(name: name, value: digits)
        }
    }

    /// The sink's own tests are all there is to save for most sinks.
    mutating func appendJudgedField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        appendField(name: name, value: value)
    }

    /// Appends one of the proxy's own fields: a lower-case name HTTP/2 allows.
    mutating func appendOwnField(name: StaticString, value: String) {
        let count = value.utf8.count
        // `withCString` lends a native string's bytes without a retain.
        value.withCString { pointer in
            appendOwnField(name: name, value: UnsafeRawBufferPointer(start: pointer, count: count))
        }
    }

    /// The same with the value as bytes.
    mutating func appendOwnField(name: StaticString, value: UnsafeRawBufferPointer) {
        appendField(name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount), value: value)
    }

    /// An ordinary field is appended as any other, unless the sink knows better.
    mutating func appendOrdinaryField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        appendField(name: name, value: value)
    }

    /// So is the Host field.
    mutating func appendHostField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        appendField(name: name, value: value)
    }
}

extension HeaderFields: ForwardedFieldSink {
    mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        append(name: name, value: value)
    }

    mutating func appendField(name: String, value: String) {
        append(name: name, value: value)
    }
}

extension ByteBuffer: ForwardedFieldSink {
    mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        writeHTTP1Field(name: name, value: value)
    }

    mutating func appendField(name: String, value: String) {
        writeHTTP1Field(name: name, value: value)
    }
}

/// An h2c stream's header block, written while the stream opens (`Exchange.writeHTTP2Request`):
/// ordinary fields (`appendOrdinaryField`, from MeshHTTP2) and the proxy's own are copied with
/// no tests of their names.
extension HTTP2RequestFieldWriter: ForwardedFieldSink {
    mutating func appendOwnField(name: StaticString, value: UnsafeRawBufferPointer) {
        appendField(name: name, value: value)
    }

    /// The Host field becomes `:authority` (`HTTP2RequestFieldWriter.appendHostField`).
    mutating func appendHostField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        appendHostField(value: value)
    }
}

/// An HTTP/2 client's response head, written into its header block (`Exchange.sendHTTP2ResponseHead`),
/// and the header list size of the fields written, as `HeaderFields.headerListSize` counts the
/// same fields (connection-specific ones the block drops included).
struct HTTP2ResponseHeadSink: ForwardedFieldSink {
    var writer: HTTP2ResponseFieldWriter
    private(set) var headerListSize = 0
    /// The upstream's field names are lower-case (an HTTP/2 upstream's: its codec refuses others).
    private let namesAreLowercase: Bool

    init(_ writer: HTTP2ResponseFieldWriter, namesAreLowercase: Bool) {
        self.writer = writer
        self.namesAreLowercase = namesAreLowercase
    }

    /// The judged fields' values lie in the fields lent to the block (`writeResponse` is given
    /// the same fields as `sendHead(status:lending:...)`).
    mutating func appendJudgedField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        headerListSize += name.count + value.count + 32
        writer.appendJudgedField(name: name, value: value, nameIsLowercase: namesAreLowercase)
    }

    mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        headerListSize += name.count + value.count + 32
        writer.appendField(name: name, value: value)
    }

    mutating func appendField(name: String, value: String) {
        headerListSize += name.utf8.count + value.utf8.count + 32
        writer.appendField(name: name, value: value)
    }

    mutating func appendOwnField(name: StaticString, value: UnsafeRawBufferPointer) {
        headerListSize += name.utf8CodeUnitCount + value.count + 32
        writer.appendField(name: name, value: value)
    }
}
