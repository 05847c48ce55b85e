import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A small HTTP/1.1 server on 127.0.0.1:0 whose answers name a destination in a known,
/// deterministic pattern, or that misbehaves on purpose. Every test that starts one stops it.
final class DestinationServer: Sendable {
    enum Behavior: Sendable {
        /// Request n (1-based, counted across connections) names `rare` when n is a multiple of
        /// `every`, else `common`: every 20th → v2 gives exactly 5% v2 in any multiple of 20.
        case pattern(every: Int, rare: String, common: String)
        /// Answers like `.pattern(every: 1_000_000, …, "v1")`, but holds request number `request` for `seconds`.
        case stall(request: Int, seconds: Double)
        /// Sends a head promising 100 bytes, 7 of them, then closes.
        case closeMidResponse
        /// Never answers.
        case silent
        /// Answers 200 without a destination header.
        case noDestination
        /// configs/header-routing: `x-user-group: beta` → v2; other requests follow
        /// `.pattern(every:, rare: "v2", common: "v1")`, counted among themselves.
        case userGroup(every: Int)
    }

    let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let counter: RequestCounter
    private let plainCounter: RequestCounter

    static let destinationHost = "reviews.default.svc.cluster.local"

    private init(port: Int, channel: any Channel, group: MultiThreadedEventLoopGroup, counter: RequestCounter, plainCounter: RequestCounter) {
        self.port = port
        self.channel = channel
        self.group = group
        self.counter = counter
        self.plainCounter = plainCounter
    }

    var url: String { "http://127.0.0.1:\(port)/" }

    /// Requests received so far.
    var requestCount: Int { counter.value }

    static func start(_ behavior: Behavior, headerName: String = "x-meshsim-destination") async throws -> DestinationServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let counter = RequestCounter()
        let plainCounter = RequestCounter()
        do {
            let channel = try await ServerBootstrap(group: group)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(
                            DestinationHandler(behavior: behavior, headerName: headerName, counter: counter, plainCounter: plainCounter))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            guard let port = channel.localAddress?.port else { throw ServerError.noPort }
            return DestinationServer(port: port, channel: channel, group: group, counter: counter, plainCounter: plainCounter)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    /// A port on 127.0.0.1 where nothing listens (bound, then closed).
    static func refusedPort() async throws -> Int {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
            let port = channel.localAddress?.port
            try await channel.close()
            try await group.shutdownGracefully()
            guard let port else { throw ServerError.noPort }
            return port
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    enum ServerError: Error { case noPort }
}

final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    /// Counts a request and returns its 1-based number.
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }

    var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }
}

private final class DestinationHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let behavior: DestinationServer.Behavior
    let headerName: String
    let counter: RequestCounter
    let plainCounter: RequestCounter
    private var userGroup: String?

    init(behavior: DestinationServer.Behavior, headerName: String, counter: RequestCounter, plainCounter: RequestCounter) {
        self.behavior = behavior
        self.headerName = headerName
        self.counter = counter
        self.plainCounter = plainCounter
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .head(let head) = part { userGroup = head.headers["x-user-group"].first }
        guard case .end = part else { return }
        let number = counter.next()
        switch behavior {
        case .pattern(let every, let rare, let common):
            respond(context: context, subset: number % every == 0 ? rare : common)
        case .stall(let request, let seconds):
            guard number == request else {
                respond(context: context, subset: "v1")
                return
            }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
                bound.value.0.respond(context: bound.value.1, subset: "v1")
            }
        case .closeMidResponse:
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "content-length", value: "100")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "partial")))), promise: nil)
            context.close(promise: nil)
        case .silent:
            break
        case .noDestination:
            respond(context: context, subset: nil)
        case .userGroup(let every):
            if userGroup == "beta" {
                respond(context: context, subset: "v2")
            } else {
                respond(context: context, subset: plainCounter.next() % every == 0 ? "v2" : "v1")
            }
        }
    }

    func respond(context: ChannelHandlerContext, subset: String?) {
        var head = HTTPResponseHead(version: .http1_1, status: .ok)
        head.headers.add(name: "content-length", value: "3")
        if let subset {
            let value = headerName == "x-meshsim-destination" ? "\(DestinationServer.destinationHost)|\(subset)" : subset
            head.headers.add(name: headerName, value: value)
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok\n")))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
