import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An h2c pod written frame by frame, for answers no HTTP/2 library sends (a malformed response
/// head): it sends its SETTINGS, acknowledges the proxy's, and answers the n-th request HEADERS it
/// receives (counted over all its connections, from 0) with one HEADERS frame (END_HEADERS and
/// END_STREAM) carrying the HPACK block `answer(n)` gives, or holds that request when nil. It
/// records the GOAWAY and RST_STREAM frames the proxy sends.
final class ScriptedH2Pod: Sendable {
    struct Observed: Sendable {
        var connections = 0
        var requestStreams: [Int32] = []
        var goAwayCodes: [UInt32] = []
        var resets: [(stream: Int32, code: UInt32)] = []
    }

    let port: Int
    private let channel: any Channel
    private let observed = NIOLockedValueBox(Observed())

    var observations: Observed { observed.withLockedValue { $0 } }

    init(answer: @escaping @Sendable (Int) -> [UInt8]?) async throws {
        let observed = self.observed
        (channel, port) = try await LoopbackListener.bind(accepted: { _ in observed.withLockedValue { $0.connections += 1 } }) {
            try $0.addHandler(FrameScript(observed: observed, answer: answer))
        }
    }

    func stop() async {
        try? await channel.close()
    }

    // MARK: HPACK blocks (no dynamic table, no Huffman: the same bytes however often sent)

    /// `:status: 200` (static table entry 8).
    static let status200: [UInt8] = [0x88]

    /// `name: value` as a literal without indexing with a new name.
    static func field(_ name: String, _ value: String) -> [UInt8] {
        [0x00] + literal(name) + literal(value)
    }

    /// `:status: <value>` with the static name (index 8), the value a literal.
    static func status(_ value: String) -> [UInt8] {
        [0x08] + literal(value)
    }

    private static func literal(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        precondition(bytes.count < 127, "test literals are short")
        return [UInt8(bytes.count)] + bytes
    }

    private final class FrameScript: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private static let prefaceLength = 24
        private let observed: NIOLockedValueBox<Observed>
        private let answer: @Sendable (Int) -> [UInt8]?
        private var received = ByteBuffer()
        private var prefaceSkipped = false

        init(observed: NIOLockedValueBox<Observed>, answer: @escaping @Sendable (Int) -> [UInt8]?) {
            self.observed = observed
            self.answer = answer
        }

        func channelActive(context: ChannelHandlerContext) {
            write(frame(type: 0x4, flags: 0, stream: 0, payload: []), context: context)
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = Self.unwrapInboundIn(data)
            received.writeBuffer(&bytes)
            if !prefaceSkipped {
                guard received.readableBytes >= Self.prefaceLength else { return }
                received.moveReaderIndex(forwardBy: Self.prefaceLength)
                prefaceSkipped = true
            }
            while let header = received.getBytes(at: received.readerIndex, length: 9) {
                let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
                guard received.readableBytes >= 9 + length else { break }
                received.moveReaderIndex(forwardBy: 9)
                let payload = received.readBytes(length: length) ?? []
                let stream = Int32(bitPattern: UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8]))
                    & 0x7fff_ffff
                handle(type: header[3], flags: header[4], stream: stream, payload: payload, context: context)
            }
            received.discardReadBytes()
        }

        private func handle(type: UInt8, flags: UInt8, stream: Int32, payload: [UInt8], context: ChannelHandlerContext) {
            switch type {
            case 0x1:  // HEADERS: a request
                let index = observed.withLockedValue { state -> Int in
                    state.requestStreams.append(stream)
                    return state.requestStreams.count - 1
                }
                if let block = answer(index) { write(frame(type: 0x1, flags: 0x5, stream: stream, payload: block), context: context) }
            case 0x3 where payload.count >= 4:  // RST_STREAM
                observed.withLockedValue { $0.resets.append((stream, Self.uint32(payload, at: 0))) }
            case 0x4 where flags & 0x1 == 0:  // SETTINGS, not an ACK
                write(frame(type: 0x4, flags: 0x1, stream: 0, payload: []), context: context)
            case 0x7 where payload.count >= 8:  // GOAWAY
                observed.withLockedValue { $0.goAwayCodes.append(Self.uint32(payload, at: 4)) }
            default:
                break
            }
        }

        private static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
            bytes[offset..<offset + 4].reduce(0) { $0 << 8 | UInt32($1) }
        }

        private func frame(type: UInt8, flags: UInt8, stream: Int32, payload: [UInt8]) -> [UInt8] {
            let length = payload.count
            return [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff), type, flags]
                + withUnsafeBytes(of: UInt32(bitPattern: stream).bigEndian, Array.init) + payload
        }

        private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
            context.writeAndFlush(Self.wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
        }
    }
}
