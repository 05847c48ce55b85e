import NIOCore
import NIOHTTP1
import NIOPosix

/// A whole response, as `LocalMesh.send` returns it.
public struct MeshResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: String
}

/// A minimal one-shot HTTP/1.1 client (one connection per request), for examples and tests.
enum MeshClient {
    struct ClosedEarly: Error {}

    static func send(to address: String, port: Int, group: EventLoopGroup, method: String, host: String, path: String,
                     headers: [(String, String)], body: String?) async throws -> MeshResponse {
        let promise = group.any().makePromise(of: MeshResponse.self)
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
            .connect(host: address, port: port)
            .get()
        var requestHeaders = HTTPHeaders([("host", host)])
        for (name, value) in headers { requestHeaders.add(name: name, value: value) }
        if let body { requestHeaders.add(name: "content-length", value: String(body.utf8.count)) }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: requestHeaders)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }

    private final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        private let promise: EventLoopPromise<MeshResponse>
        private var response: MeshResponse?
        private var body = ByteBuffer()

        init(promise: EventLoopPromise<MeshResponse>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                response = MeshResponse(status: Int(head.status.code), headers: head.headers, body: "")
            case .body(var part):
                body.writeBuffer(&part)
            case .end:
                if var response {
                    response.body = String(buffer: body)
                    promise.succeed(response)
                    self.response = nil
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(ClosedEarly())
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
