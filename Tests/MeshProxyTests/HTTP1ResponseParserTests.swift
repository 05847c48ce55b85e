import NIOCore
import NIOHTTP1
import Testing

@testable import MeshProxy

/// The proxy's own HTTP/1.1 response decoder (upstream side): every framing RFC 9112 §6.3
/// allows, decoded the same at every split of the bytes, and malformed answers refused (502).
@Suite struct HTTP1ResponseParserTests {
    static let valid: [(name: String, bytes: String, methods: [HTTPMethod], closes: Bool, expected: [DecodedPart])] = [
        ("content-length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", [.GET], false,
         [.head("200 HTTP/1.1 [Content-Type: text/plain|Content-Length: 5]"), .body(Array("hello".utf8)), .end(nil)]),
        ("no reason phrase, keep-alive pair", "HTTP/1.1 404\r\ncontent-length: 0\r\n\r\nHTTP/1.0 201 Created\r\nContent-Length: 2\r\n\r\nok",
         [.GET, .POST], false,
         [.head("404 HTTP/1.1 [content-length: 0]"), .end(nil), .head("201 HTTP/1.0 [Content-Length: 2]"), .body(Array("ok".utf8)), .end(nil)]),
        ("HTTP/1.1's lone keep-alive Connection field is left out", "HTTP/1.1 200 OK\r\nconnection: keep-alive\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
         [.GET, .GET], false,
         [.head("200 HTTP/1.1 [Content-Length: 0]"), .end(nil), .head("200 HTTP/1.1 [Connection: close|Content-Length: 0]"), .end(nil)]),
        ("the lone keep-alive is left out wherever it stands; values keep no surrounding whitespace",
         "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 200 OK\r\nA:1\r\nconnection: keep-alive\r\nB:  2 \r\nContent-Length: 0\r\n\r\n",
         [.GET, .GET], false,
         [.head("200 HTTP/1.1 [Content-Length: 0]"), .end(nil), .head("200 HTTP/1.1 [A: 1|B: 2|Content-Length: 0]"), .end(nil)]),
        ("chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;x=1\r\npedia\r\n0\r\ngrpc-status: 0\r\n\r\n", [.POST], false,
         [.head("200 HTTP/1.1 [Transfer-Encoding: chunked]"), .body(Array("wikipedia".utf8)), .end(["grpc-status: 0"])]),
        ("until close", "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of this until the end", [.GET], true,
         [.head("200 HTTP/1.0 [Server: old]"), .body(Array("all of this until the end".utf8)), .end(nil)]),
        ("a transfer coding other than chunked runs until close", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz", [.GET], true,
         [.head("200 HTTP/1.1 [Transfer-Encoding: gzip]"), .body(Array("zzz".utf8)), .end(nil)]),
        ("HEAD answers have no body whatever they say", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
         [.HEAD, .GET], false,
         [.head("200 HTTP/1.1 [Content-Length: 100]"), .end(nil), .head("200 HTTP/1.1 [Content-Length: 2]"), .body(Array("ok".utf8)), .end(nil)]),
        ("204 and 304 have no body", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\nHTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
         [.GET, .GET], false,
         [.head("204 HTTP/1.1 [Content-Length: 7]"), .end(nil), .head("304 HTTP/1.1 [Transfer-Encoding: chunked]"), .end(nil)]),
        ("interim 1xx answers are skipped", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
         [.POST], false,
         [.head("200 HTTP/1.1 [Content-Length: 1]"), .body([UInt8(ascii: "x")]), .end(nil)]),
    ]

    @Test(arguments: valid.indices)
    func validResponsesDecodeAlikeAtEverySplit(index: Int) {
        let (name, text, methods, closes, expected) = Self.valid[index]
        for reads in ByteSplits.all(Array(text.utf8)) {
            let outcome = ParserHarness.decodeResponses(reads, methods: methods, closeAtEnd: closes)
            #expect(outcome == DecodeOutcome(parts: expected), "\(name), reads \(reads.map(\.count))")
        }
    }

    static let invalid: [(bytes: String, error: HTTP1ParseError)] = [
        ("HTTP/1.1 20 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 2000 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 abc OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1  200 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 099 Low\r\n\r\n", .invalidStatusLine),
        ("HTTP/2.0 200 OK\r\n\r\n", .unsupportedVersion),
        ("ICY 200 OK\r\n\r\n", .invalidStatusLine),
        ("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", .missingCR),
        ("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", .invalidHeaderName),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", .duplicateContentLength),
        ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", .contentLengthWithTransferEncoding),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", .invalidChunkSize),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", .invalidChunkEnd),
    ]

    @Test(arguments: invalid.indices)
    func malformedResponsesAreRefused(index: Int) {
        let (text, error) = Self.invalid[index]
        let bytes = Array(text.utf8)
        for reads in [[bytes], ByteSplits.pieces(bytes, size: 1)] {
            #expect(ParserHarness.decodeResponses(reads).error == error, "\(text.debugDescription)")
        }
    }

    @Test func onlyABodyDelimitedByTheCloseEndsAtTheClose() throws {
        var untilClose = HTTP1ResponseParser()
        var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\npartial")
        _ = try untilClose.next(&buffer)
        #expect(untilClose.readsUntilClose)
        _ = try untilClose.next(&buffer)
        guard case .end(nil)? = untilClose.finish() else { Issue.record("no end at close"); return }

        var sized = HTTP1ResponseParser()
        buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        _ = try sized.next(&buffer)
        _ = try sized.next(&buffer)
        #expect(!sized.readsUntilClose)
        #expect(sized.isInsideMessage)
        let atClose = sized.finish()
        #expect(atClose == nil)
    }

    /// `HTTP1Fields.fields` copies the parser's field records into `HeaderFields` as they are:
    /// both must be four `Int`s, name start, name length, value start, value length.
    @Test func fieldRecordsHaveTheLayoutOfHeaderFieldsRecords() {
        typealias Field = HTTP1FieldBlock.Field
        #expect(MemoryLayout<Field>.size == 4 * MemoryLayout<Int>.stride)
        #expect(MemoryLayout<Field>.offset(of: \Field.nameStart) == 0)
        #expect(MemoryLayout<Field>.offset(of: \Field.nameLength) == MemoryLayout<Int>.stride)
        #expect(MemoryLayout<Field>.offset(of: \Field.valueStart) == 2 * MemoryLayout<Int>.stride)
        #expect(MemoryLayout<Field>.offset(of: \Field.valueLength) == 3 * MemoryLayout<Int>.stride)
    }

    /// The fields of a forwarded head are handed back (`spareFields`) and the next head is written
    /// into their storage: it must hold that head's fields only, whether it has fewer or more.
    @Test func aHeadWrittenIntoHandedBackFieldsHoldsOnlyItsOwn() throws {
        var parser = HTTP1ResponseParser()
        var buffer = ByteBuffer(string:
            "HTTP/1.1 200 OK\r\nX-First: one\r\nX-Second: two\r\nContent-Length: 0\r\n\r\n"
            + "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
            + "HTTP/1.1 201 Created\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nF: 6\r\nG: 7\r\nH: 8\r\nContent-Length: 0\r\n\r\n")
        var heads: [[String]] = []
        while let event = try parser.next(&buffer) {
            guard case .head(let head) = event else { continue }
            var fields = head.fields
            heads.append(fields.httpHeaders.map { "\($0.name): \($0.value)" })
            // What the exchange does once the head is forwarded: it edits, then hands them back.
            fields.append(name: "server", value: "envoy")
            parser.spareFields = fields
        }
        #expect(heads == [
            ["X-First: one", "X-Second: two", "Content-Length: 0"],
            ["Content-Length: 0"],
            ["A: 1", "B: 2", "C: 3", "D: 4", "E: 5", "F: 6", "G: 7", "H: 8", "Content-Length: 0"],
        ])
    }
}
