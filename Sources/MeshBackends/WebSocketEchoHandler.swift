import NIOCore
import NIOHTTP1
import NIOWebSocket

/// A simulated pod's WebSocket session after `101 Switching Protocols`: every data frame comes
/// back as it came (same opcode, continuation and fin: fragments are echoed one by one, not
/// reassembled), unmasked as a server's frames are (RFC 6455 §5.1); ping is answered pong with
/// its payload; close is answered close with the client's status code, then the TCP connection
/// closes (§5.5.1). A client frame that breaks the protocol (unmasked, reserved bits or opcode,
/// a continuation out of place) is answered close 1002, one over `maximumFrameBytes` close 1009.
final class WebSocketEchoHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Frames larger than this are refused with close 1009 (message too big).
    static let maximumFrameBytes = 1 << 20

    enum CloseCode {
        static let normal: UInt16 = 1000
        static let goingAway: UInt16 = 1001
        static let protocolError: UInt16 = 1002
        static let messageTooBig: UInt16 = 1009
    }

    /// Whether a fragmented text or binary message has started and not yet ended.
    private var inFragmentedMessage = false
    private var closeSent = false
    private var needsFlush = false
    private var readHeldBack = false

    /// Replaces the HTTP/1.1 handlers of the connection by the WebSocket codec and an echo
    /// handler, after the 101 was written. Bytes the client sent after its handshake and that
    /// the HTTP decoder already holds reach the frame decoder: the decoder stopped parsing at
    /// the upgrade, and on removal it forwards what it kept (`.forwardBytes`).
    static func install(replacing httpHandler: ChannelHandlerContext) throws {
        let pipeline = httpHandler.pipeline.syncOperations
        let httpDecoder = try pipeline.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try pipeline.addHandlers(
            [
                ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: maximumFrameBytes)),
                WebSocketFrameEncoder(),
                WebSocketEchoHandler(),
            ], position: .last)
        pipeline.removeHandler(context: httpHandler, promise: nil)
        // Removal of a decoder runs on the next loop tick; until then it keeps what arrives. The
        // bytes it forwards come with no read-complete of their own: one is fired so that their
        // echoes are flushed.
        let channel = httpDecoder.channel
        let removed = channel.eventLoop.makePromise(of: Void.self)
        removed.futureResult.whenSuccess { channel.pipeline.fireChannelReadComplete() }
        pipeline.removeHandler(context: httpDecoder, promise: removed)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closeSent else { return }
        let frame = unwrapInboundIn(data)
        // §5.1: a client masks every frame; §5.2: no extension was agreed, so no reserved bit is set.
        guard frame.maskKey != nil, frame.reservedBits.isEmpty else {
            closeAfterSending(code: CloseCode.protocolError, context: context)
            return
        }
        switch frame.opcode {
        case .text, .binary, .continuation:
            // §5.4: a continuation belongs to an open message; a new message waits for the last to end.
            guard (frame.opcode == .continuation) == inFragmentedMessage else {
                closeAfterSending(code: CloseCode.protocolError, context: context)
                return
            }
            inFragmentedMessage = !frame.fin
            write(WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData), context: context)
        case .ping:
            write(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData), context: context)
        case .pong:
            break  // unsolicited pongs need no answer (§5.5.3)
        case .connectionClose:
            answerClose(frame, context: context)
        default:
            closeAfterSending(code: CloseCode.protocolError, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            // The client stopped sending without a closing handshake: nothing more to echo.
            context.close(promise: nil)
            return
        }
        if event is BackendConnectionHandler.Drain {
            // The pod is stopping: say so (1001) and leave, as a server going down does (§7.4.1).
            if !closeSent { closeAfterSending(code: CloseCode.goingAway, context: context) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            closeAfterSending(code: CloseCode.messageTooBig, context: context)
        case is NIOWebSocketError:
            closeAfterSending(code: CloseCode.protocolError, context: context)
        case is ByteToMessageDecoderError:
            break  // bytes after a frame error, read while the close goes out
        default:
            // An I/O error: the connection is gone or unusable.
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && readHeldBack {
            readHeldBack = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Outbound

    /// An echo writes what it reads: a client that sends and never reads would fill memory, so
    /// reading pauses while the socket's send buffer is full.
    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readHeldBack = true
        }
    }

    // MARK: Answering

    private func answerClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        var payload = frame.unmaskedData
        // §5.5.1: an empty close is answered empty; otherwise the status code comes back.
        guard payload.readableBytes > 0 else {
            closeAfterSending(code: nil, context: context)
            return
        }
        guard let code = payload.readInteger(as: UInt16.self), Self.isValidReceivedCode(code) else {
            closeAfterSending(code: CloseCode.protocolError, context: context)
            return
        }
        closeAfterSending(code: code, context: context)
    }

    /// Codes an endpoint may send (§7.4.1, §7.4.2 and the IANA registry): 1004-1006 and 1015 are
    /// reserved for reports and never appear on the wire.
    static func isValidReceivedCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1014, 3000...4999: return true
        default: return false
        }
    }

    private func write(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(frame), promise: nil)
        needsFlush = true
    }

    /// Sends a close frame (with `code`, or empty) and closes the connection once it is out.
    private func closeAfterSending(code: UInt16?, context: ChannelHandlerContext) {
        guard !closeSent else { return }
        closeSent = true
        var payload = context.channel.allocator.buffer(capacity: 2)
        if let code { payload.writeInteger(code) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload))).whenComplete { _ in
            channel.close(promise: nil)
        }
        needsFlush = false
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard needsFlush else { return }
        needsFlush = false
        context.flush()
    }
}
