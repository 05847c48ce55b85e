import MeshHTTP2
import NIOCore
import NIOHTTP1
import Testing

@testable import MeshHTTP2
@testable import MeshProxy

@Suite struct ForwardedHeadersTests {
    @Test func requestLosesHopByHopExpectAndControlHeadersAndGainsForwardingOnes() {
        let client: HTTPHeaders = [
            "Host": "reviews", "Connection": "keep-alive, X-Hop", "X-Hop": "1", "Keep-Alive": "timeout=5",
            "Transfer-Encoding": "chunked", "TE": "trailers", "Expect": "100-continue",
            "X-Envoy-Max-Retries": "3", "x-envoy-retry-on": "5xx", "x-envoy-custom": "kept",
            "X-Forwarded-For": "10.0.0.1", "User-Agent": "curl/8", "x-user-group": "beta", "X-Envoy-Attempt-Count": "7",
        ]
        let headers = ForwardedHeaders.request(
            HeaderFields(client), authority: "reviews.default.svc.cluster.local", rewrittenFrom: "/old", forwardedFor: "10.0.0.1, 127.0.0.1",
            requestID: "id-1", expectedTimeoutMilliseconds: 1500, attempt: 2
        ).httpHeaders
        #expect(headers.map(\.name) == [
            "Host", "x-envoy-custom", "User-Agent", "x-user-group", "te", "x-envoy-original-path", "x-forwarded-for",
            "x-forwarded-proto", "x-request-id", "x-envoy-expected-rq-timeout-ms", "x-envoy-attempt-count",
        ])
        // The client's count is replaced by the proxy's own.
        #expect(headers["x-envoy-attempt-count"] == ["2"])
        #expect(headers["host"] == ["reviews.default.svc.cluster.local"])
        #expect(headers["te"] == ["trailers"])
        #expect(headers["x-envoy-original-path"] == ["/old"])
        #expect(headers["x-forwarded-for"] == ["10.0.0.1, 127.0.0.1"])
        #expect(headers["x-envoy-expected-rq-timeout-ms"] == ["1500"])
        #expect(headers["x-request-id"] == ["id-1"])
    }

    @Test func aDrawnRequestIDIsForwardedAsItsUUIDText() {
        var random = FastRandom(seed: 7)
        let drawn = RequestID(using: &random)
        let headers = ForwardedHeaders.request(
            HeaderFields(), authority: "ratings", rewrittenFrom: nil, forwardedFor: nil, requestID: .drawn(drawn),
            expectedTimeoutMilliseconds: nil
        ).httpHeaders
        #expect(headers["x-request-id"] == [drawn.text])
        // The same seed draws the same id (what `--seed` reproduces).
        var again = FastRandom(seed: 7)
        #expect(RequestID(using: &again).text == drawn.text)
        #expect(drawn.text.utf8.count == 36)
    }

    @Test func requestKeepsTheClientsRequestIDAndProtoAndAddsHostWhenMissing() {
        let client: HTTPHeaders = ["x-request-id": "abc", "X-Forwarded-Proto": "https", "x-envoy-original-path": "/first"]
        let headers = ForwardedHeaders.request(
            HeaderFields(client), authority: "ratings", rewrittenFrom: "/again", forwardedFor: nil, requestID: "unused",
            expectedTimeoutMilliseconds: nil
        ).httpHeaders
        #expect(headers["x-request-id"] == ["abc"])
        #expect(headers["x-forwarded-proto"] == ["https"])
        #expect(headers["x-envoy-original-path"] == ["/first"])
        #expect(headers["host"] == ["ratings"])
        #expect(!headers.contains(name: "x-forwarded-for"))
    }

    @Test func responseIsReframedAndStampedByTheProxy() {
        let upstream: HTTPHeaders = [
            "Content-Length": "12", "Connection": "close, X-Internal", "X-Internal": "secret", "Server": "gunicorn",
            "Transfer-Encoding": "chunked", "x-envoy-upstream-service-time": "99", "X-Meshsim-Version": "v2",
        ]
        var fields = HeaderFields(upstream)
        let hasLength = ForwardedHeaders.response(&fields, serviceTime: 7, date: "Fri, 27 Nov 2026 12:00:00 GMT")
        let headers = fields.httpHeaders
        #expect(hasLength)
        #expect(headers.map(\.name) == ["Content-Length", "X-Meshsim-Version", "server", "date", "x-envoy-upstream-service-time"])
        #expect(headers["server"] == ["envoy"])
        #expect(headers["x-envoy-upstream-service-time"] == ["7"])
    }

    @Test func responseKeepsTheUpstreamsDateAndServiceTimeWhenThereIsNoMeasure() {
        let upstream: HTTPHeaders = ["date": "Thu, 26 Nov 2026 00:00:00 GMT", "x-envoy-upstream-service-time": "3"]
        var fields = HeaderFields(upstream)
        let hasLength = ForwardedHeaders.response(&fields, serviceTime: nil, date: "unused")
        let headers = fields.httpHeaders
        #expect(!hasLength)
        #expect(headers["date"] == ["Thu, 26 Nov 2026 00:00:00 GMT"])
        #expect(headers["x-envoy-upstream-service-time"] == ["3"])
    }

    /// What a client gets written in one pass (`writeResponse`, dated by the loop's cache) is what
    /// `response` (the same rules into new fields, with the date given) leaves: the same fields in
    /// the same order, the same framing answer; the upstream's fields stay as they were.
    @Test(arguments: [
        [("Content-Length", "12"), ("Connection", "close, X-Internal"), ("X-Internal", "secret"), ("Server", "gunicorn"),
         ("Transfer-Encoding", "chunked"), ("x-envoy-upstream-service-time", "99"), ("X-Meshsim-Version", "v2")],
        [("date", "Thu, 26 Nov 2026 00:00:00 GMT"), ("x-envoy-upstream-service-time", "3"), ("grpc-status", "0"), ("grpc-status", "1")],
        [("X-Early", "gone"), ("Set-Cookie", "a=1"), ("TE", "Trailers"), ("connection", "X-EARLY, x-late, grpc-status"),
         ("set-cookie", "b=2"), ("X-Late", "gone too"), ("grpc-status", "14"), ("Keep-Alive", "timeout=5"), ("x-name", "Zoë ✓"),
         ("X-Empty", ""), ("Date", "Thu, 26 Nov 2026 00:00:00 GMT")],
        [("x-meshsim-workload", "bench"), ("x-meshsim-pod", "bench-0"), ("content-type", "text/plain"), ("content-length", "5"),
         ("Proxy-Authenticate", "Basic"), ("Trailer", "x-t"), ("te", "gzip"), ("Grpc-Status", "2")],
        [],
    ] as [[(String, String)]], [7, nil] as [Int?])
    func responseWrittenInOnePassIsTheEditedOne(_ upstream: [(String, String)], serviceTime: Int?) {
        let fields = HeaderFields(HTTPHeaders(upstream))
        var dates = HTTPDateCache()
        let now = NIODeadline.now()
        var written = HeaderFields()
        var grpcStatus: String?
        let writtenHasLength = ForwardedHeaders.writeResponse(
            fields, into: &written, serviceTime: serviceTime, dates: &dates, at: now, grpcStatus: &grpcStatus, wantsGRPCStatus: true)
        var edited = fields
        let editedHasLength = ForwardedHeaders.response(&edited, serviceTime: serviceTime, date: dates.current(at: now))
        #expect(written == edited)
        #expect(writtenHasLength == editedHasLength)
        #expect(grpcStatus == edited.first(name: "grpc-status"))
        var notAsked: String?
        _ = ForwardedHeaders.writeResponse(
            fields, into: &written, serviceTime: serviceTime, dates: &dates, at: now, grpcStatus: &notAsked, wantsGRPCStatus: false)
        #expect(notAsked == nil)
        // The unedited fields stay as they were.
        #expect(fields == HeaderFields(HTTPHeaders(upstream)))
    }

    /// `writeResponse` passes a field on as judged (`appendJudgedField`, no tests at an HTTP/2
    /// sink) only when an HTTP/2 header block would keep it: never a pseudo-header, an empty
    /// name, `host`, `http2-settings` or a hop-by-hop field; those reach the sink's tested
    /// `appendField` or nothing. Told that the fields came from HTTP/2 (no Connection field to
    /// look for), it writes the same fields.
    @Test func onlyFieldsAnHTTP2BlockKeepsArePassedOnAsJudged() {
        let upstream = HTTPHeaders([
            ("Content-Type", "text/plain"), ("Host", "a"), ("HTTP2-Settings", "x"), (":path", "/"), ("", "empty"), ("TE", "trailers"),
            ("x-meshsim-pod", "bench-0"), ("Upgrade", "h2c"), ("grpc-status", "0"), ("content-length", "5"),
        ])
        var judged = JudgingSink()
        var dates = HTTPDateCache()
        let now = NIODeadline.now()
        var grpcStatus: String?
        _ = ForwardedHeaders.writeResponse(
            HeaderFields(upstream), into: &judged, serviceTime: 3, dates: &dates, at: now, grpcStatus: &grpcStatus, wantsGRPCStatus: true)
        #expect(judged.judgedNames == ["Content-Type", "x-meshsim-pod", "grpc-status", "content-length"])
        #expect(judged.testedNames == ["Host", "HTTP2-Settings", ":path", "", "te", "server", "date", "x-envoy-upstream-service-time"])
        #expect(grpcStatus == "0")
        let fromHTTP2 = HeaderFields(HTTPHeaders([("content-type", "text/plain"), ("x-a", "1"), ("te", "trailers"), ("date", "d")]))
        var scanned = HeaderFields()
        var told = HeaderFields()
        _ = ForwardedHeaders.writeResponse(
            fromHTTP2, into: &scanned, serviceTime: nil, dates: &dates, at: now, grpcStatus: &grpcStatus, wantsGRPCStatus: false)
        _ = ForwardedHeaders.writeResponse(
            fromHTTP2, into: &told, serviceTime: nil, dates: &dates, at: now, grpcStatus: &grpcStatus, wantsGRPCStatus: false,
            fromHTTP2: true)
        #expect(told == scanned)
    }

    @Test func responseDropsFieldsTheConnectionHeaderNamesWhereverTheyStandAndKeepsTheRestInOrder() {
        let upstream = HTTPHeaders([
            ("X-Early", "gone"), ("Set-Cookie", "a=1"), ("TE", "Trailers"), ("connection", "X-EARLY, x-late, close"),
            ("set-cookie", "b=2"), ("X-Late", "gone too"), ("Keep-Alive", "timeout=5"), ("x-name", "Zoë ✓"),
            ("X-Empty", ""),
        ])
        var fields = HeaderFields(upstream)
        _ = ForwardedHeaders.response(&fields, serviceTime: nil, date: "Fri, 27 Nov 2026 12:00:00 GMT")
        let headers = fields.httpHeaders
        #expect(headers.map(\.name) == ["Set-Cookie", "set-cookie", "x-name", "X-Empty", "te", "server", "date"])
        #expect(headers["set-cookie"] == ["a=1", "b=2"])
        #expect(headers["x-name"] == ["Zoë ✓"])
        #expect(headers["x-empty"] == [""])
        #expect(headers["te"] == ["trailers"])
    }

    /// An HTTP/1.1 upstream's head is written straight into its buffer; it must hold the same
    /// lines as the byte fields an HTTP/2 upstream (or a route with header rules) is given,
    /// including fields a later Connection header names (the Host among them) and a drawn id.
    @Test func requestWrittenAsHTTP1LinesMatchesTheByteFields() {
        let cases: [HTTPHeaders] = [
            HTTPHeaders([("Host", "reviews"), ("User-Agent", "wrk")]),
            HTTPHeaders([
                ("X-Early", "gone"), ("host", "a"), ("Host", "b"), ("TE", "trailers"), ("Connection", "x-early, HOST, x-request-id, close"),
                ("x-request-id", "client"), ("X-Forwarded-Proto", "https"), ("x-envoy-retry-on", "5xx"), ("x-keep", "Zoë ✓"),
            ]),
            HTTPHeaders([("x-envoy-expected-rq-timeout-ms", "9"), ("x-envoy-internal", "true"), ("x-envoy-original-path", "/x")]),
        ]
        var random = FastRandom(seed: 7)
        for client in cases {
            let id = RequestID(using: &random)
            for timeout in [nil, Int64(250)] {
                let fields = ForwardedHeaders.request(
                    HeaderFields(client), authority: "reviews.default.svc.cluster.local", rewrittenFrom: "/old",
                    forwardedFor: "10.0.0.1", requestID: .drawn(id), expectedTimeoutMilliseconds: timeout, attempt: 3, isInternal: true)
                var expected = ByteBuffer()
                expected.writeHTTP1Fields(fields)
                var written = ByteBuffer()
                ForwardedHeaders.writeRequest(
                    HeaderFields(client), into: &written, authority: "reviews.default.svc.cluster.local", rewrittenFrom: "/old",
                    forwardedFor: "10.0.0.1", requestID: .drawn(id), expectedTimeoutMilliseconds: timeout, attempt: 3, isInternal: true)
                written.writeStaticString("\r\n")
                #expect(String(buffer: written) == String(buffer: expected))
                // The drawn id is written only for a client that sent none (the second names its own away).
                #expect(fields.first(name: "x-request-id") == (client.contains(name: "x-request-id") ? nil : id.text))
            }
        }
    }

    /// Clients' fields with every name the writer or an HTTP/2 block treats itself among
    /// ordinary ones (`KnownRequestFieldsTests.judgedNames`).
    static let knownFieldCases: [HTTPHeaders] = [
        HTTPHeaders([("host", "reviews"), ("user-agent", "h2load"), ("accept", "*/*")]),
        HTTPHeaders([("X-Early", "gone"), ("Host", "b"), ("Connection", "x-early, close"), ("x-late", "kept"), ("TE", "trailers")]),
        HTTPHeaders([("connection", "keep-alive"), ("x-a", "1")]),
        HTTPHeaders([("user-agent", "h2load nghttp2/1.52.0")]),
        HTTPHeaders(
            KnownRequestFieldsTests.judgedNames.filter { !$0.isEmpty && !$0.hasPrefix(":") && $0.lowercased() != "connection" }
                .flatMap { [("X-Before-\($0.count)", "o"), ($0, "trailers")] } + [("Accept", "*/*"), ("user-agent", "ua")]),
        HTTPHeaders((0..<70).map { ("x-many-\($0)", "\($0)") } + [("x-envoy-retry-on", "5xx"), ("te", "trailers"), ("host", "late")]),
    ]

    /// The exchange hands the writer its head's index (`KnownRequestFields`): whether a
    /// Connection field came, and which fields are ordinary (appended with no test of their
    /// names). The forwarded fields are the same as the writer's own scan makes.
    @Test(arguments: [false, true], [nil, "10.0.0.1"])
    func knownFieldsGiveTheSameFieldsAsTheScan(isInternal: Bool, forwardedFor: String?) {
        for client in Self.knownFieldCases {
            let fields = HeaderFields(client)
            var scanned = ByteBuffer()
            ForwardedHeaders.writeRequest(
                fields, into: &scanned, authority: "reviews", rewrittenFrom: "/old", forwardedFor: forwardedFor, requestID: .text("id"),
                expectedTimeoutMilliseconds: 250, attempt: 1, isInternal: isInternal)
            var told = ByteBuffer()
            ForwardedHeaders.writeRequest(
                fields, into: &told, authority: "reviews", rewrittenFrom: "/old", forwardedFor: forwardedFor, requestID: .text("id"),
                expectedTimeoutMilliseconds: 250, attempt: 1, isInternal: isInternal, known: KnownRequestFields(fields))
            #expect(String(buffer: told) == String(buffer: scanned))
        }
    }

    /// The same into an h2c stream's header block (`HTTP2RequestFieldWriter`), where ordinary
    /// fields and the proxy's own skip the block's tests: the same block as every field sent
    /// through them, the client's names lower-case (an HTTP/2 client's) or not.
    @Test(arguments: [false, true])
    func knownFieldsMakeTheSameHeaderBlock(lowercase: Bool) {
        for client in Self.knownFieldCases {
            var fields = HeaderFields()
            for (name, value) in client { fields.append(name: lowercase ? name.lowercased() : name, value: value) }
            func block(known: KnownRequestFields?, viaByteFields: Bool) -> [String] {
                let block = HeaderBlock()
                let authority = block.appendPlaceholder(name: ":authority")
                var writer = HTTP2RequestFieldWriter(block: block, authorityField: authority)
                writer.namesAreLowercase = lowercase
                if viaByteFields {
                    // Every field, the proxy's own included, through the tested path.
                    let forwarded = ForwardedHeaders.request(
                        fields, authority: "reviews", rewrittenFrom: "/old", forwardedFor: "10.0.0.1", requestID: .text("id"),
                        expectedTimeoutMilliseconds: 250, attempt: 2, isInternal: true)
                    forwarded.forEachField { writer.appendField(name: $0, value: $1) }
                } else {
                    ForwardedHeaders.writeRequest(
                        fields, into: &writer, authority: "reviews", rewrittenFrom: "/old", forwardedFor: "10.0.0.1",
                        requestID: .text("id"), expectedTimeoutMilliseconds: 250, attempt: 2, isInternal: true, known: known)
                }
                return block.fieldLines
            }
            let expected = block(known: nil, viaByteFields: true)
            #expect(block(known: KnownRequestFields(fields), viaByteFields: false) == expected)
            #expect(block(known: nil, viaByteFields: false) == expected)
        }
    }

    /// An HTTP/2 head without Host takes its `:authority` as Host without a field added
    /// (`hostIsAuthority`): everything that reads Host, and the forwarded head in every sink,
    /// sees what it saw when the field was appended after the client's (the reference head
    /// below has that field).
    @Test(arguments: [nil, "/old"], [nil, "10.0.0.1"])
    func anHTTP2HeadsAuthorityIsItsHostAsAnAppendedFieldWas(rewrittenFrom: String?, forwardedFor: String?) {
        let cases: [[(String, String)]] = [
            [("user-agent", "h2load nghttp2/1.52.0")],
            [],
            [("te", "trailers"), ("content-type", "application/grpc"), ("x-envoy-original-path", "/x"), ("accept", "*/*")],
            [("x-request-id", "abc"), ("x-forwarded-proto", "https"), ("cookie", "a=1")],
        ]
        for authority in ["reviews.default.svc.cluster.local:9080", "short"] {
            for pairs in cases {
                var fields = HeaderFields()
                for (name, value) in pairs { fields.append(name: name, value: value) }
                let head = DownstreamRequestHead(http2Method: "GET", authority: authority, path: "/a?b", fields: fields)
                var withHost = fields
                withHost.append(name: "host", value: authority)
                let reference = DownstreamRequestHead(http2Method: "GET", authority: authority, path: "/a?b", fields: withHost)
                #expect(head.hostIsAuthority && !reference.hostIsAuthority && head.fields.count == pairs.count)
                #expect(head.first(.host) == authority && head.contains(.host) && head.host == authority)
                let request = DownstreamRequest(lending: head)
                let referenceRequest = DownstreamRequest(lending: reference)
                #expect(request.header("host") == referenceRequest.header("host"))
                #expect(request.joinedHeader("host") == referenceRequest.joinedHeader("host"))
                var lent: [UInt8]? = nil
                request.withJoinedHeaderUTF8("host") { lent = $0.map(Array.init) }
                #expect(lent == Array(authority.utf8))
                #expect(request.header("cookie") == referenceRequest.header("cookie"))

                func http1(_ head: DownstreamRequestHead, hostAfterFields: Bool) -> String {
                    var buffer = ByteBuffer()
                    ForwardedHeaders.writeRequest(
                        head.fields, into: &buffer, authority: "upstream.example", rewrittenFrom: rewrittenFrom, forwardedFor: forwardedFor,
                        requestID: .text("id"), expectedTimeoutMilliseconds: 15000, attempt: 1, isInternal: false, known: head.known,
                        hostAfterFields: hostAfterFields)
                    return String(buffer: buffer)
                }
                #expect(http1(head, hostAfterFields: true) == http1(reference, hostAfterFields: false))
                func block(_ head: DownstreamRequestHead, hostAfterFields: Bool) -> [String] {
                    let block = HeaderBlock()
                    var writer = HTTP2RequestFieldWriter(block: block, authorityField: block.appendPlaceholder(name: ":authority"))
                    writer.namesAreLowercase = true
                    ForwardedHeaders.writeRequest(
                        head.fields, into: &writer, authority: "upstream.example", rewrittenFrom: rewrittenFrom, forwardedFor: forwardedFor,
                        requestID: .text("id"), expectedTimeoutMilliseconds: 15000, attempt: 1, isInternal: false, known: head.known,
                        hostAfterFields: hostAfterFields)
                    return block.fieldLines
                }
                #expect(block(head, hostAfterFields: true) == block(reference, hostAfterFields: false))
            }
        }
        // A target that is not origin-form keeps the field as before.
        let absolute = DownstreamRequestHead(http2Method: "OPTIONS", authority: "reviews", path: "*", fields: HeaderFields())
        #expect(!absolute.hostIsAuthority && absolute.fields.first(name: "host") == "reviews")
    }

    /// `.empty` writes what `.text("")` writes, with or without a client's own id.
    @Test func anEmptyRequestIDWritesWhatAnEmptyTextDoes() {
        for client in [HTTPHeaders([("user-agent", "a")]), HTTPHeaders([("X-Request-Id", "theirs"), ("user-agent", "a")])] {
            func written(_ id: RequestID.Forwarded) -> String {
                var buffer = ByteBuffer()
                ForwardedHeaders.writeRequest(
                    HeaderFields(client), into: &buffer, authority: "reviews", rewrittenFrom: nil, forwardedFor: nil, requestID: id,
                    expectedTimeoutMilliseconds: nil, attempt: 1, isInternal: false)
                return String(buffer: buffer)
            }
            #expect(written(.empty) == written(.text("")))
        }
    }

    /// The control-header test on a name's bytes says what the set of names says, in any case,
    /// for every name in it and for look-alikes of the same lengths.
    @Test func envoyControlHeadersAreFoundOnTheBytesAsInTheSet() {
        var names: [String] = []
        for name in HeaderRules.envoyControlHeaders {
            names += [name, name.uppercased(), String(name.dropLast()) + "x", "x-envoy-" + String(name.dropFirst(8).reversed())]
        }
        names += ["x-envoy-peer-metadata-id", "x-envoy-peer-metadata", "x-envoy-", "x-envoy", "x-envoy-retry-oné", "X-ENVOY-RETRY-ON"]
        for name in names {
            var bytes = Array(name.utf8)
            let found = bytes.withUnsafeMutableBytes { HeaderRules.isEnvoyControlHeader(UnsafeRawBufferPointer($0)) }
            let expected = name.utf8.count > 8 && name.lowercased().hasPrefix("x-envoy-")
                && HeaderRules.envoyControlHeaders.contains(name.lowercased())
            #expect(found == expected, "\(name)")
        }
    }

    /// Decimal values (`x-envoy-upstream-service-time`, `x-envoy-attempt-count`) are written as
    /// `String(value)` spells them, into byte fields and into an HTTP/1.1 buffer alike.
    @Test(arguments: [0, 7, 42, 100, 1_234_567_890, Int.max, -5, Int.min])
    func decimalFieldsSpellTheValue(value: Int) {
        var fields = HeaderFields()
        fields.appendDecimalField(name: "x-count", value: value)
        #expect(fields.first(name: "x-count") == String(value))
        var buffer = ByteBuffer()
        buffer.appendDecimalField(name: "x-count", value: value)
        #expect(buffer.readString(length: buffer.readableBytes) == "x-count: \(value)\r\n")
    }
}

/// Records which of a sink's appends `writeResponse` calls for each field.
private struct JudgingSink: ForwardedFieldSink {
    var judgedNames: [String] = []
    var testedNames: [String] = []

    mutating func appendField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        testedNames.append(String(decoding: name, as: UTF8.self))
    }

    mutating func appendField(name: String, value: String) {
        testedNames.append(name)
    }

    mutating func appendOwnField(name: StaticString, value: UnsafeRawBufferPointer) {
        testedNames.append(name.description)
    }

    mutating func appendJudgedField(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        judgedNames.append(String(decoding: name, as: UTF8.self))
    }
}
