import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@testable import MeshProxy

/// The proxy's request parser against the decoder it replaced (NIO's llhttp, still in NIOHTTP1):
/// the same bytes, sent over a real connection to an llhttp server, decode to the same parts or
/// are refused by both, except where the difference is meant and listed here.
@Suite struct HTTP1ParityTests {
    /// Deliberate differences: RFC 9110 §5.5 whitespace after a value is not part of it (llhttp
    /// keeps it; Envoy drops it too); an Upgrade other than h2c does not stop the decoding; NIO
    /// turns M-SEARCH into `MSEARCH`, the proxy forwards the method as sent; a coding before
    /// `chunked` is refused (Envoy's 501; llhttp takes a list that ends in chunked).
    static let meantDifferences: Set<String> = [
        "POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n",
        "M-SEARCH * HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a  \t\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length:  1 \r\n\r\na",
        "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
    ]

    static let corpus = [
        "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET /a\"b HTTP/1.1\r\n\r\n",
        "GET /a{b}|\\^` HTTP/1.1\r\n\r\n",
        "GET /caf\u{E9} HTTP/1.1\r\n\r\n",
        "GET /a\tb HTTP/1.1\r\n\r\n",
        "GET http://h:80/x?y HTTP/1.1\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\n\r\n",
        "M-SEARCH * HTTP/1.1\r\n\r\n",
        "get / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.2\r\n\r\n",
        "GET / HTTP/2.0\r\n\r\n",
        "GET / HTTP/1.1\r\nX: a\u{7F}b\r\n\r\n",
        "GET / HTTP/1.1\r\nX: caf\u{E9}\r\n\r\n",
        "GET / HTTP/1.1\r\nX:\r\n\r\n",
        "GET / HTTP/1.1\r\nX:   \r\n\r\n",
        "GET / HTTP/1.1\r\nX: a  \t\r\n\r\n",
        "GET / HTTP/1.1\r\nX@: a\r\n\r\n",
        "GET / HTTP/1.1\r\nX\u{E9}: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
        "GET / HTTP/1.1\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nA: b\r\r\n\r\n",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b;c\r\na\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 ;a\r\na\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
        "POST / HTTP/1.1\r\nContent-Length: 01\r\n\r\na",
        "POST / HTTP/1.1\r\nContent-Length:  1 \r\n\r\na",
        "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\na",
        "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.0\r\n\r\n",
    ]

    static func describe(_ part: HTTPServerRequestPart) -> String {
        switch part {
        case .head(let head):
            let fields = head.headers.map { "\($0.name): \($0.value)" }.joined(separator: "|")
            return "head(\(head.method.rawValue) \(head.uri) \(head.version) [\(fields)])"
        case .body(let body):
            return "body(\(String(buffer: body)))"
        case .end(let trailers):
            return "end(\(trailers.map { $0.map { "\($0.name): \($0.value)" }.joined(separator: "|") } ?? "-"))"
        }
    }

    /// What the proxy's parser makes of `text`, in the same words.
    static func proxyParser(_ text: String) -> String {
        var parser = HTTP1RequestParser(limits: HTTP1Limits(maxBytes: 80 * 1024, maxFields: 65_534))
        var buffer = ByteBuffer(string: text)
        var parts: [String] = []
        do {
            while let event = try parser.next(&buffer) {
                switch event {
                case .head(let head):
                    parts.append(describe(.head(HTTPRequestHead(version: head.version, method: head.method, uri: head.uri, headers: head.fields.httpHeaders))))
                case .body(let body): parts.append(describe(.body(body)))
                case .end(let trailers): parts.append(describe(.end(trailers)))
                }
            }
        } catch {
            parts.append("error")
        }
        return parts.joined(separator: " ")
    }

    /// Collects what llhttp decoded on one connection, until the client closes it.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        private var parts: [String] = []
        private var failed = false
        private let done: EventLoopPromise<String>

        init(done: EventLoopPromise<String>) {
            self.done = done
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            parts.append(HTTP1ParityTests.describe(Self.unwrapInboundIn(data)))
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            if !failed { parts.append("error") }
            failed = true
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(parts.joined(separator: " "))
        }
    }

    struct ServerNeverClosed: Error, CustomStringConvertible {
        var text: String
        var seconds: Int
        var description: String { "llhttp's side of the connection for \(text.debugDescription) did not end within \(seconds) s of the client's close" }
    }

    @Test func decodesLikeLLHTTPExceptWhereMeantToDiffer() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let next = NIOLockedValueBox<EventLoopPromise<String>?>(nil)
        let server = try await ServerBootstrap(group: loop)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let done = next.withLockedValue({ $0 }) else { throw ChannelError.ioOnClosedChannel }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    try channel.pipeline.syncOperations.addHandler(Collector(done: done))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let port = try #require(server.localAddress?.port)
        for text in Self.corpus {
            let done = loop.makePromise(of: String.self)
            next.withLockedValue { $0 = done }
            let connection = try RawConnection(port: port)
            try await connection.send(text)
            connection.hangUp()
            // Bounded: a connection the server never finishes fails the test instead of hanging
            // it. Armed only once the client has sent and closed, it times the server's part
            // alone (accept, decode, close on this loop), not this task's turns on the shared
            // cooperative pool, which other suites can hold for seconds.
            let deadline = loop.scheduleTask(in: .seconds(30)) { done.fail(ServerNeverClosed(text: text, seconds: 30)) }
            defer { deadline.cancel() }
            let reference = try await done.futureResult.get()
            let ours = Self.proxyParser(text)
            if Self.meantDifferences.contains(text) {
                #expect(ours != reference, "\(text.debugDescription) was meant to differ")
            } else {
                #expect(ours == reference, "\(text.debugDescription)")
            }
        }
    }
}
