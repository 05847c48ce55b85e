import Foundation
import NIOCore

/// The only handler on a client connection: writes pre-encoded requests and frames responses
/// with `ResponseParser`, reporting each outcome to its `ConnectionSlot`. Once the slot lets go
/// of it (`abandon()`), late events from the closing channel are ignored.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    // unowned(unsafe): the slot outlives its live handler; once it lets go (`abandon()`) every
    // entry point returns before touching it, so the reference is never used after that.
    private unowned(unsafe) let slot: ConnectionSlot
    private(set) var parser: ResponseParser
    private var context: ChannelHandlerContext?
    /// Bytes of a head or chunk line that arrived split across reads.
    private var held: ByteBuffer?
    private(set) var abandoned = false

    init(slot: ConnectionSlot, subsetHeader: String) {
        self.slot = slot
        self.parser = ResponseParser(wantedHeader: subsetHeader)
    }

    func abandon() {
        abandoned = true
    }

    func send(_ request: ByteBuffer, expectsNoBody: Bool) {
        guard let context else { return }
        parser.expectsNoBody = expectsNoBody
        context.writeAndFlush(wrapOutboundOut(request), promise: nil)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !abandoned else { return }
        var buffer = unwrapInboundIn(data)
        if var earlier = held {
            held = nil
            earlier.writeBuffer(&buffer)
            buffer = earlier
        }
        while !abandoned {
            switch parser.next(&buffer) {
            case .needMore:
                if buffer.readableBytes > 0 { held = buffer }
                return
            case .complete:
                slot.responseComplete(status: parser.status, subsetValue: parser.hasWantedValue ? parser.wantedValue : nil, keepAlive: parser.keepAlive)
            case .failure:
                slot.connectionFailed(.protocol)
                return
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        guard !abandoned else { return }
        if parser.finishAtClose() {
            slot.responseComplete(status: parser.status, subsetValue: parser.hasWantedValue ? parser.wantedValue : nil, keepAlive: false)
        } else {
            slot.connectionFailed(.closed)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !abandoned else { return }
        slot.connectionFailed(Self.kind(of: error))
        context.close(promise: nil)
    }

    static func kind(of error: Error) -> ErrorKind {
        if let io = error as? IOError, io.errnoCode == ECONNRESET || io.errnoCode == EPIPE { return .reset }
        if let channel = error as? ChannelError, case .eof = channel { return .closed }
        return .reset
    }
}
