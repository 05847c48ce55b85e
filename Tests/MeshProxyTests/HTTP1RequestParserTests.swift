import NIOCore
import NIOHTTP1
import Testing

@testable import MeshProxy

/// The proxy's own HTTP/1.1 request decoder: well-formed requests decode the same however their
/// bytes are split across reads, and every malformed or ambiguous one is refused with the error
/// that becomes its 400 (or 431).
@Suite struct HTTP1RequestParserTests {
    static let valid: [(name: String, bytes: String, expected: [DecodedPart])] = [
        ("simple GET", "GET / HTTP/1.1\r\nHost: reviews\r\n\r\n",
         [.head("GET / HTTP/1.1 [Host: reviews]"), .end(nil)]),
        ("whitespace around values, obs-text, empty value",
         "GET /a?b=c HTTP/1.1\r\nHost:reviews \r\nX-Empty:\r\nX-Tab:\t two  words\t\r\nX-Latin: caf\u{E9}\r\n\r\n",
         [.head("GET /a?b=c HTTP/1.1 [Host: reviews|X-Empty: |X-Tab: two  words|X-Latin: caf\u{E9}]"), .end(nil)]),
        ("content-length body", "POST /echo HTTP/1.1\r\nHost: r\r\nContent-Length: 11\r\n\r\nhello world",
         [.head("POST /echo HTTP/1.1 [Host: r|Content-Length: 11]"), .body(Array("hello world".utf8)), .end(nil)]),
        ("zero content-length", "PUT /x HTTP/1.1\r\nHost: r\r\ncontent-length: 0\r\n\r\n",
         [.head("PUT /x HTTP/1.1 [Host: r|content-length: 0]"), .end(nil)]),
        ("chunked with extensions and trailers",
         "POST / HTTP/1.1\r\nHost: r\r\nTransfer-Encoding:  Chunked \r\n\r\n5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n000\r\nX-Checksum: 42\r\nX-More: yes\r\n\r\n",
         [.head("POST / HTTP/1.1 [Host: r|Transfer-Encoding: Chunked]"),
          .body(Array("helloabcdefghijklmnopqrstuvwxyz".utf8)), .end(["X-Checksum: 42", "X-More: yes"])]),
        ("chunked without trailers", "POST / HTTP/1.1\r\nHost: r\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
         [.head("POST / HTTP/1.1 [Host: r|transfer-encoding: chunked]"), .body(Array("abc".utf8)), .end(nil)]),
        ("pipelined, with empty lines before the second",
         "GET /1 HTTP/1.1\r\nHost: r\r\n\r\nPOST /2 HTTP/1.1\r\nHost: r\r\nContent-Length: 2\r\n\r\nok\r\n\r\nHEAD /3 HTTP/1.0\r\n\r\n",
         [.head("GET /1 HTTP/1.1 [Host: r]"), .end(nil),
          .head("POST /2 HTTP/1.1 [Host: r|Content-Length: 2]"), .body(Array("ok".utf8)), .end(nil),
          .head("HEAD /3 HTTP/1.0 []"), .end(nil)]),
        ("a lone keep-alive Connection field of HTTP/1.1 is left out; others stay",
         "GET /1 HTTP/1.1\r\nConnection: Keep-Alive\r\nHost: r\r\n\r\nGET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
            + "GET /3 HTTP/1.1\r\nConnection: keep-alive, x-a\r\n\r\nGET /4 HTTP/1.1\r\nConnection: keep-alive\r\nConnection: keep-alive\r\n\r\n",
         [.head("GET /1 HTTP/1.1 [Host: r]"), .end(nil), .head("GET /2 HTTP/1.0 [Connection: keep-alive]"), .end(nil),
          .head("GET /3 HTTP/1.1 [Connection: keep-alive, x-a]"), .end(nil),
          .head("GET /4 HTTP/1.1 [Connection: keep-alive|Connection: keep-alive]"), .end(nil)]),
        ("absolute form and unusual methods", "M-SEARCH http://reviews/x HTTP/1.1\r\nHost: r\r\n\r\nQUERY * HTTP/1.1\r\nHost: r\r\n\r\n",
         [.head("M-SEARCH http://reviews/x HTTP/1.1 [Host: r]"), .end(nil), .head("QUERY * HTTP/1.1 [Host: r]"), .end(nil)]),
    ]

    @Test(arguments: valid.indices)
    func validRequestsDecodeAlikeAtEverySplit(index: Int) {
        let (name, text, expected) = Self.valid[index]
        let bytes = Array(text.utf8)
        for reads in ByteSplits.all(bytes) {
            let outcome = ParserHarness.decodeRequests(reads)
            #expect(outcome == DecodeOutcome(parts: expected), "\(name), reads \(reads.map(\.count))")
        }
    }

    static let invalid: [(bytes: String, error: HTTP1ParseError)] = [
        ("GARBAGE\r\n\r\n", .invalidRequestLine),
        ("FOO / HTTP/1.1\r\nHost: r\r\n\r\n", .invalidRequestLine),
        ("get / HTTP/1.1\r\nHost: r\r\n\r\n", .invalidRequestLine),
        ("GET  / HTTP/1.1\r\nHost: r\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/1.1 \r\nHost: r\r\n\r\n", .invalidRequestLine),
        ("GET /\r\n\r\n", .invalidRequestLine),
        ("GET /a b HTTP/1.1\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/9.9\r\nHost: r\r\n\r\n", .unsupportedVersion),
        ("GET / HTTP/2.0\r\nHost: r\r\n\r\n", .unsupportedVersion),
        ("GET / HTTPS/1.1\r\n\r\n", .invalidRequestLine),
        ("GET / HTTP/1.1\nHost: r\r\n\r\n", .missingCR),
        ("GET / HTTP/1.1\r\nHost: r\n\r\n", .missingCR),
        ("GET / HTTP/1.1\r\nHost reviews\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHo st: reviews\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nHost : reviews\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\n: empty\r\n\r\n", .invalidHeaderName),
        ("GET / HTTP/1.1\r\nX-A: one\u{01}two\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nX-A: one\rtwo\r\n\r\n", .invalidHeaderValue),
        ("GET / HTTP/1.1\r\nHost: r\r\nX-Folded: one\r\n two\r\n\r\n", .obsoleteLineFolding),
        ("GET / HTTP/1.1\r\n\tHost: r\r\n\r\n", .obsoleteLineFolding),
        ("POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", .contentLengthWithTransferEncoding),
        ("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", .duplicateContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nabcde", .duplicateContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nabcde", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\nabcde", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", .invalidContentLength),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\nabc", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", .unsupportedTransferEncoding),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", .unsupportedTransferEncoding),
        ("GET /caf\u{E9} HTTP/1.1\r\n\r\n", .invalidRequestLine),
        ("GET /a\u{7F} HTTP/1.1\r\n\r\n", .invalidRequestLine),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", .invalidChunkSize),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n", .invalidChunkSize),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n", .invalidChunkSize),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n", .invalidChunkSize),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", .invalidChunkSize),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n", .invalidChunkSize),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", .invalidChunkEnd),
        ("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\nb\r\n\r\n", .missingCR),
    ]

    @Test(arguments: invalid.indices)
    func malformedRequestsAreRefusedAtEverySplit(index: Int) {
        let (text, error) = Self.invalid[index]
        let bytes = Array(text.utf8)
        for reads in [[bytes], ByteSplits.pieces(bytes, size: 1), ByteSplits.pieces(bytes, size: 3)] {
            let outcome = ParserHarness.decodeRequests(reads)
            #expect(outcome.error == error, "\(text.debugDescription) in \(reads.count) reads: \(outcome)")
        }
    }

    @Test func headsOverTheLimitsAreTooLarge() {
        let limits = HTTP1Limits(maxBytes: 1024, maxFields: 10)
        let longValue = "GET / HTTP/1.1\r\nHost: r\r\nX-Big: \(String(repeating: "a", count: 1100))\r\n\r\n"
        let manyFields = "GET / HTTP/1.1\r\n" + (0..<11).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        let longTarget = "GET /\(String(repeating: "p", count: 1100)) HTTP/1.1\r\n\r\n"
        let sumOverLimit = "GET / HTTP/1.1\r\n" + (0..<5).map { "X-\($0): \(String(repeating: "v", count: 250))\r\n" }.joined() + "\r\n"
        for text in [longValue, manyFields, longTarget, sumOverLimit] {
            #expect(ParserHarness.decodeRequests([Array(text.utf8)], limits: limits).error == .headersTooLarge)
        }
        // Exactly at the limits is fine: 10 fields whose names and values count 1024 bytes.
        let atLimit = "GET / HTTP/1.1\r\n" + (0..<10).map { "X-\($0): \(String(repeating: "v", count: 98))\r\n" }.joined() + "\r\n"
        #expect(ParserHarness.decodeRequests([Array(atLimit.utf8)], limits: HTTP1Limits(maxBytes: 1 + 10 * 101, maxFields: 10)).error == nil)
    }

    @Test func aLineThatNeverEndsIsRefusedOnceItOutgrowsTheLimit() {
        let limits = HTTP1Limits(maxBytes: 1024, maxFields: 10)
        let endless = Array("GET / HTTP/1.1\r\nX-Endless: ".utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: limits.maxRawBytes)
        let outcome = ParserHarness.decodeRequests(ByteSplits.pieces(endless, size: 4096), limits: limits)
        #expect(outcome.error == .headersTooLarge)
    }

    /// A TLS ClientHello or other non-HTTP bytes are refused at once, not after a line end
    /// that may never come.
    @Test func bytesThatCannotStartARequestAreRefusedBeforeTheLineEnds() {
        for start in [[0x16, 0x03, 0x01, 0x02, 0x00], Array("hello".utf8), Array("GETX".utf8), Array("DELETE_".utf8)] {
            #expect(ParserHarness.decodeRequests([start]).error == .invalidRequestLine, "\(start)")
        }
        // Prefixes of real methods wait for more.
        for start in ["G", "GE", "M-SEA", "PROPPAT", "UNSUBSCRIBE"] {
            #expect(ParserHarness.decodeRequests([Array(start.utf8)]) == DecodeOutcome(), "\(start)")
        }
    }

    @Test func aBodyComesOutAsItArrivesAndTheNextRequestWaitsInTheBuffer() throws {
        var parser = HTTP1RequestParser(limits: ParserHarness.limits)
        var buffer = ByteBuffer(string: "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\nhel")
        guard case .head(let head)? = try parser.next(&buffer) else { Issue.record("no head"); return }
        #expect(head.method == .POST)
        guard case .body(let first)? = try parser.next(&buffer) else { Issue.record("no body"); return }
        #expect(String(buffer: first) == "hel")
        #expect(try parser.next(&buffer) == nil)
        #expect(parser.isInsideMessage)
        buffer.writeString("lo worldGET /next HTTP/1.1\r\n\r\n")
        guard case .body(let rest)? = try parser.next(&buffer) else { Issue.record("no body"); return }
        #expect(String(buffer: rest) == "lo world")
        guard case .end(nil)? = try parser.next(&buffer) else { Issue.record("no end"); return }
        #expect(!parser.isInsideMessage)
        // The pipelined request is untouched until asked for.
        #expect(String(buffer: buffer) == "GET /next HTTP/1.1\r\n\r\n")
        guard case .head(let next)? = try parser.next(&buffer) else { Issue.record("no second head"); return }
        #expect(next.uri == "/next")
    }
}

/// The target and Host strings repeated from a connection's previous request are shared, never
/// stale; the fields come out as sent.
@Suite struct HTTP1StringReuseTests {
    @Test func repeatedAndChangedTargetsAndHostsDecodeAsSent() throws {
        let requests = [
            "GET /a HTTP/1.1\r\nHost: reviews.example.com\r\nUser-Agent: curl/8.5.0\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: reviews.example.com\r\nUser-Agent: curl/8.5.0\r\n\r\n",
            "GET /ab HTTP/1.1\r\nhost: reviews.example.co\r\nUser-Agent: curl/8.5.\r\nX-New: 1\r\n\r\n",
            "GET /d HTTP/1.1\r\nX-New: 1\r\n\r\n",
            "GET /d HTTP/1.1\r\nX-Host: a\r\nHOST: first\r\nHost: second\r\n\r\n",
        ]
        var parser = HTTP1RequestParser(limits: ParserHarness.limits)
        var decoded: [(uri: String, host: String?, fields: String)] = []
        for request in requests {
            var buffer = ByteBuffer(string: request)
            guard case .head(let head)? = try parser.next(&buffer) else { Issue.record("no head for \(request)"); return }
            guard case .end(nil)? = try parser.next(&buffer) else { Issue.record("no end for \(request)"); return }
            decoded.append((head.uri, head.host, head.fields.httpHeaders.map { "\($0.name): \($0.value)" }.joined(separator: "|")))
        }
        #expect(decoded.map(\.uri) == ["/a", "/a", "/ab", "/d", "/d"])
        #expect(decoded.map(\.host) == ["reviews.example.com", "reviews.example.com", "reviews.example.co", nil, "first"])
        #expect(decoded.map(\.fields) == [
            "Host: reviews.example.com|User-Agent: curl/8.5.0",
            "Host: reviews.example.com|User-Agent: curl/8.5.0",
            "host: reviews.example.co|User-Agent: curl/8.5.|X-New: 1",
            "X-New: 1",
            "X-Host: a|HOST: first|Host: second",
        ])
    }
}
