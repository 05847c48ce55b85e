import Foundation
import NIOCore
import NIOPosix

/// One WebSocket frame as it is on the wire, written and parsed by the tests themselves (not by
/// NIOWebSocket, the codec under test) so the pod's bytes are checked independently.
public struct TestFrame: Equatable, Sendable {
    public static let continuation: UInt8 = 0x0, text: UInt8 = 0x1, binary: UInt8 = 0x2
    public static let close: UInt8 = 0x8, ping: UInt8 = 0x9, pong: UInt8 = 0xA

    public var fin: Bool
    public var opcode: UInt8
    public var payload: [UInt8]
    /// Whether the sender masked it (a server never does).
    public var masked = false
    /// The 7-bit length field as sent: the length itself, 126 (16-bit form) or 127 (64-bit form).
    public var lengthIndicator: UInt8 = 0

    public init(fin: Bool = true, opcode: UInt8, payload: [UInt8]) {
        self.fin = fin
        self.opcode = opcode
        self.payload = payload
    }

    public init(text: String) { self.init(opcode: Self.text, payload: Array(text.utf8)) }

    /// A close frame carrying `code` (and no reason).
    public init(closeCode code: UInt16) {
        self.init(opcode: Self.close, payload: [UInt8(code >> 8), UInt8(code & 0xFF)])
    }

    /// The status code of a close frame.
    public var closeCode: UInt16? {
        guard opcode == Self.close, payload.count >= 2 else { return nil }
        return UInt16(payload[0]) << 8 | UInt16(payload[1])
    }

    /// The frame's bytes, masked with `mask` as a client must (RFC 6455 §5.3), or unmasked.
    public func encoded(mask: [UInt8]? = [0x37, 0xFA, 0x21, 0x3D]) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let maskBit: UInt8 = mask == nil ? 0 : 0x80
        switch payload.count {
        case 0...125:
            bytes.append(maskBit | UInt8(payload.count))
        case 126...0xFFFF:
            bytes.append(maskBit | 126)
            bytes += [UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            bytes.append(maskBit | 127)
            bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (8 * UInt64($0))) }
        }
        guard let mask else { return bytes + payload }
        bytes += mask
        bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return bytes
    }

    /// Parses one frame from the start of `bytes`: the frame and how many bytes it took, or nil
    /// while the frame is incomplete.
    public static func parse(_ bytes: ArraySlice<UInt8>) -> (TestFrame, Int)? {
        var index = bytes.startIndex
        guard bytes.count >= 2 else { return nil }
        let first = bytes[index], second = bytes[index + 1]
        index += 2
        let indicator = second & 0x7F
        var length = Int(indicator)
        let extraLengthBytes = indicator == 126 ? 2 : indicator == 127 ? 8 : 0
        guard bytes.endIndex - index >= extraLengthBytes else { return nil }
        if extraLengthBytes > 0 {
            length = bytes[index..<index + extraLengthBytes].reduce(0) { $0 << 8 | Int($1) }
            index += extraLengthBytes
        }
        let masked = second & 0x80 != 0
        let mask: [UInt8]? = masked ? (bytes.endIndex - index >= 4 ? Array(bytes[index..<index + 4]) : nil) : nil
        if masked {
            guard mask != nil else { return nil }
            index += 4
        }
        guard bytes.endIndex - index >= length else { return nil }
        var payload = Array(bytes[index..<index + length])
        if let mask { payload = payload.enumerated().map { $0.element ^ mask[$0.offset % 4] } }
        var frame = TestFrame(fin: first & 0x80 != 0, opcode: first & 0x0F, payload: payload)
        frame.masked = masked
        frame.lengthIndicator = indicator
        return (frame, index + length - bytes.startIndex)
    }
}

/// A TCP client that sends raw bytes and reads what comes back as an HTTP head and then
/// WebSocket frames; every read waits for its bytes up to a deadline.
public final class WebSocketTestClient: Sendable {
    /// RFC 6455's sample key (§1.3) and the accept value it must get.
    public static let sampleKey = "dGhlIHNhbXBsZSBub25jZQ=="
    public static let sampleAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    private let channel: any Channel
    private let state: ReceivedBytes

    private init(channel: any Channel, state: ReceivedBytes) {
        self.channel = channel
        self.state = state
    }

    public static func connect(port: Int) async throws -> WebSocketTestClient {
        let state = ReceivedBytes()
        let channel = try await LoopbackChannel.connect(port: port) { ByteCollector(state: state) }
        return WebSocketTestClient(channel: channel, state: state)
    }

    /// A handshake request with RFC 6455's sample key; a nil key or version leaves that header
    /// out, `extra` adds header lines.
    public static func handshake(
        path: String = "/", method: String = "GET", key: String? = sampleKey, version: String? = "13", extra: String = ""
    ) -> String {
        var request = "\(method) \(path) HTTP/1.1\r\nHost: reviews\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        if let key { request += "Sec-WebSocket-Key: \(key)\r\n" }
        if let version { request += "Sec-WebSocket-Version: \(version)\r\n" }
        return request + extra + "\r\n"
    }

    public func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
    }

    public func send(_ text: String) async throws { try await send(Array(text.utf8)) }

    public func send(_ frame: TestFrame) async throws { try await send(frame.encoded()) }

    /// The response head up to its blank line (as text), or nil if none came in time.
    public func readHead(seconds: Double = 20) async throws -> String? {
        let terminator: [UInt8] = [13, 10, 13, 10]
        return try await take(seconds: seconds) { bytes in
            guard let end = bytes.indices.dropLast(3).first(where: { bytes[$0..<$0 + 4].elementsEqual(terminator) }) else { return nil }
            return (String(decoding: bytes[..<end], as: UTF8.self), end + 4)
        }
    }

    /// The next frame from the pod, or nil if none came in time (or the connection closed first).
    public func readFrame(seconds: Double = 20) async throws -> TestFrame? {
        try await take(seconds: seconds) { bytes in TestFrame.parse(bytes[...]) }
    }

    /// Whether the pod closed the connection (with no bytes left unread), waiting up to `seconds`.
    public func waitForEOF(seconds: Double = 20) async throws -> Bool {
        try await Self.waitUntil(seconds: seconds) { state.withLockedValue { $0.closed } }
            && state.withLockedValue { $0.received.isEmpty }
    }

    public func close() async {
        try? await channel.close()
    }

    /// Waits until `parse` finds a value at the start of the received bytes, then removes the
    /// bytes it used.
    private func take<T>(seconds: Double, _ parse: ([UInt8]) -> (T, Int)?) async throws -> T? {
        var result: T?
        _ = try await Self.waitUntil(seconds: seconds) {
            state.withLockedValue { state in
                guard let (value, used) = parse(state.received) else { return state.closed }
                state.received.removeFirst(used)
                result = value
                return true
            }
        }
        return result
    }

    /// Checks `condition` every 10 ms until it holds or `seconds` pass.
    private static func waitUntil(seconds: Double, _ condition: () -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}

/// What the client has received and not yet parsed, shared between its event loop and the test.
private final class ReceivedBytes: @unchecked Sendable {
    struct State {
        var received: [UInt8] = []
        var closed = false
    }

    private let lock = NSLock()
    private var state = State()

    func withLockedValue<T>(_ body: (inout State) -> T) -> T {
        lock.withLock { body(&state) }
    }
}

private final class ByteCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let state: ReceivedBytes

    init(state: ReceivedBytes) { self.state = state }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        state.withLockedValue { $0.received += buffer.readableBytesView }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.closed = true }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
