import CNGHTTP2
import NIOCore
import NIOHTTP1

/// Decides per connection between HTTP/2 with prior knowledge and HTTP/1.1 by reading the
/// first bytes: the 24-byte client preface (`PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`) selects HTTP/2,
/// the first byte that differs from it selects HTTP/1.1. It then installs the chosen pipeline
/// after itself, replays the bytes it read and leaves.
public final class HTTP2ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    public enum DetectedProtocol: Sendable, Equatable {
        case http2PriorKnowledge
        case http1
    }

    static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    private let configure: (DetectedProtocol, any Channel) throws -> Void
    private var buffered: ByteBuffer?
    private var decided = false

    /// `configure` adds the handlers for the detected protocol (use
    /// `channel.pipeline.syncOperations`; it runs on the event loop). Added at the end of the
    /// pipeline, they sit after the sniffer and receive the bytes it read.
    public init(configure: @escaping (DetectedProtocol, any Channel) throws -> Void) {
        self.configure = configure
    }

    /// The usual server: HTTP/2 to `HTTP2ServerConnection` with a delegate from `makeDelegate`;
    /// HTTP/1.1 to `http1` (which adds its own codec and handlers), or, when `http1` is nil, to
    /// NIO's HTTP/1.1 server codec plus `h2c` upgrade into the same HTTP/2 server, followed by
    /// `http1Handlers` for requests that are not upgraded.
    public static func server(
        configuration: HTTP2Configuration = .default,
        makeDelegate: @escaping () -> any HTTP2ServerDelegate,
        http1Handlers: @escaping () -> [any ChannelHandler]
    ) -> HTTP2ProtocolSniffer {
        HTTP2ProtocolSniffer { detected, channel in
            let pipeline = channel.pipeline.syncOperations
            switch detected {
            case .http2PriorKnowledge:
                try pipeline.addHandler(HTTP2ServerConnection(configuration: configuration, delegate: makeDelegate()))
            case .http1:
                let handlers = http1Handlers()
                let boundHandlers = NIOLoopBound(handlers, eventLoop: channel.eventLoop)
                let upgrader = HTTP2CleartextUpgrader(configuration: configuration, makeDelegate: makeDelegate)
                try pipeline.configureHTTPServerPipeline(
                    withServerUpgrade: (
                        upgraders: [upgrader],
                        completionHandler: { context in
                            // Upgraded: the HTTP/1.1 application handlers have nothing left to do.
                            for handler in boundHandlers.value {
                                if let removable = handler as? any RemovableChannelHandler {
                                    context.pipeline.syncOperations.removeHandler(removable, promise: nil)
                                }
                            }
                        }
                    )
                )
                try pipeline.addHandlers(handlers)
            }
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = Self.unwrapInboundIn(data)
        guard !self.decided else {
            context.fireChannelRead(data)
            return
        }
        if self.buffered == nil {
            self.buffered = incoming
        } else {
            self.buffered?.writeBuffer(&incoming)
        }
        guard let buffered = self.buffered, let detected = Self.detect(buffered) else { return }
        self.decided = true
        do {
            try self.configure(detected, context.channel)
        } catch {
            context.fireErrorCaught(error)
            context.close(promise: nil)
            return
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// nil until enough bytes arrived to tell.
    static func detect(_ bytes: ByteBuffer) -> DetectedProtocol? {
        let count = min(bytes.readableBytes, Self.preface.count)
        guard let view = bytes.getBytes(at: bytes.readerIndex, length: count) else { return nil }
        for index in 0..<count where view[index] != Self.preface[index] {
            return .http1
        }
        return count == Self.preface.count ? .http2PriorKnowledge : nil
    }

    public func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if let buffered = self.buffered {
            self.buffered = nil
            context.fireChannelRead(Self.wrapInboundOut(buffered))
            context.fireChannelReadComplete()
        }
        context.leavePipeline(removalToken: removalToken)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        self.buffered = nil
        context.fireChannelInactive()
    }
}

/// `Upgrade: h2c` (RFC 7540 §3.2) for NIO's HTTP/1.1 server pipeline: answers 101 Switching
/// Protocols and hands the connection to an `HTTP2ServerConnection`, where the upgrading request
/// becomes stream 1. Requests with a body are not upgraded (NIO's upgrade handler would drop the
/// body); they are served over HTTP/1.1 as if no Upgrade header had been sent.
public final class HTTP2CleartextUpgrader: HTTPServerProtocolUpgrader {
    public let supportedProtocol = "h2c"
    public let requiredUpgradeHeaders = ["HTTP2-Settings"]

    private let configuration: HTTP2Configuration
    private let makeDelegate: () -> any HTTP2ServerDelegate

    public init(configuration: HTTP2Configuration = .default, makeDelegate: @escaping () -> any HTTP2ServerDelegate) {
        self.configuration = configuration
        self.makeDelegate = makeDelegate
    }

    public func buildUpgradeResponse(
        channel: any Channel,
        upgradeRequest: HTTPRequestHead,
        initialResponseHeaders: HTTPHeaders
    ) -> EventLoopFuture<HTTPHeaders> {
        let headers = upgradeRequest.headers
        let contentLength = headers.first(name: "content-length").flatMap { Int($0) } ?? 0
        guard contentLength == 0, !headers.contains(name: "transfer-encoding") else {
            return channel.eventLoop.makeFailedFuture(HTTP2CodecError.badUpgradeRequest("request has a body"))
        }
        guard headers["http2-settings"].count == 1, Self.settingsPayload(upgradeRequest) != nil else {
            return channel.eventLoop.makeFailedFuture(HTTP2CodecError.badUpgradeRequest("malformed HTTP2-Settings"))
        }
        return channel.eventLoop.makeSucceededFuture(initialResponseHeaders)
    }

    public func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        guard let settings = Self.settingsPayload(upgradeRequest) else {
            return context.eventLoop.makeFailedFuture(HTTP2CodecError.badUpgradeRequest("malformed HTTP2-Settings"))
        }
        let request = HTTP2RequestHead(http1: upgradeRequest)
        let handler = HTTP2ServerConnection(
            configuration: self.configuration,
            delegate: self.makeDelegate(),
            upgradedRequest: request,
            isHeadRequest: upgradeRequest.method == .HEAD,
            settingsPayload: settings
        )
        return context.eventLoop.makeCompletedFuture {
            try context.pipeline.syncOperations.addHandler(handler, position: .after(context.handler))
        }
    }

    /// The base64url (no padding) SETTINGS payload of the HTTP2-Settings header.
    static func settingsPayload(_ request: HTTPRequestHead) -> [UInt8]? {
        guard let encoded = request.headers.first(name: "http2-settings") else { return nil }
        guard let payload = Base64URL.decode(encoded), payload.count % 6 == 0 else { return nil }
        return payload
    }
}

/// RFC 4648 §5 base64url, padding optional (HTTP2-Settings omits it).
enum Base64URL {
    static func decode(_ text: String) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.utf8.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for character in text.utf8 {
            let value: UInt32
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(character - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(character - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(character - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "-"), UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "_"), UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            accumulator = (accumulator << 6) | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8((accumulator >> UInt32(bits)) & 0xff))
            }
        }
        return output
    }
}
