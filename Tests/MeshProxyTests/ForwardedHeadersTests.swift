import MeshHTTP2
import NIOCore
import NIOHTTP1
import Testing

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

    /// The exchange tells the writer whether a Connection field came (from the head's
    /// `KnownRequestFields`) instead of letting it look: the forwarded fields are the same.
    @Test func knownConnectionFieldGivesTheSameFieldsAsTheScan() {
        let cases: [HTTPHeaders] = [
            HTTPHeaders([("host", "reviews"), ("user-agent", "h2load"), ("accept", "*/*")]),
            HTTPHeaders([("X-Early", "gone"), ("Host", "b"), ("Connection", "x-early, close"), ("x-late", "kept"), ("TE", "trailers")]),
            HTTPHeaders([("connection", "keep-alive"), ("x-a", "1")]),
        ]
        for client in cases {
            let fields = HeaderFields(client)
            var scanned = ByteBuffer()
            ForwardedHeaders.writeRequest(
                fields, into: &scanned, authority: "reviews", rewrittenFrom: nil, forwardedFor: nil, requestID: .text("id"),
                expectedTimeoutMilliseconds: nil, attempt: 1, isInternal: false)
            var told = ByteBuffer()
            ForwardedHeaders.writeRequest(
                fields, into: &told, authority: "reviews", rewrittenFrom: nil, forwardedFor: nil, requestID: .text("id"),
                expectedTimeoutMilliseconds: nil, attempt: 1, isInternal: false,
                hasConnectionField: KnownRequestFields(fields)[.connection] != nil)
            #expect(String(buffer: told) == String(buffer: scanned))
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
