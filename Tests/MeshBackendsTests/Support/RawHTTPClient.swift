import MeshBackends
import MeshTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Foundation
import NIOPosix

/// A client that writes raw request bytes (so tests control pipelining and malformed input
/// exactly) and parses the responses of its one connection (Content-Length bodies, which is what
/// the simulated backend sends).
final class RawHTTPClient: Sendable {
    struct Response: Sendable {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        var body: String
        /// When the last byte arrived, for ordering between connections.
        var receivedAt: ContinuousClock.Instant
    }

    private let channel: any Channel
    private let collector: ResponseCollector

    private init(channel: any Channel, collector: ResponseCollector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> RawHTTPClient {
        let collector = ResponseCollector()
        let channel = try await LoopbackChannel.connect(port: port, group: group) { ResponseParsingHandler(collector: collector) }
        return RawHTTPClient(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(channel.allocator.buffer(string: text))
    }

    /// The first `count` responses of the connection, waiting up to `seconds` for them (fewer if
    /// the connection closed first).
    func responses(_ count: Int, seconds: Double = 30) async throws -> [Response] {
        _ = try await waitUntil(seconds: seconds) {
            let state = collector.snapshot
            return state.responses.count >= count || state.closed
        }
        return Array(collector.snapshot.responses.prefix(count))
    }

    /// Whether the server closed the connection, waiting up to `seconds`.
    func waitForClose(seconds: Double = 20) async throws -> Bool {
        try await waitUntil(seconds: seconds) { collector.snapshot.closed }
    }

    /// Half-closes: the server sees end of input but can still answer.
    func shutdownOutput() async throws {
        try await channel.close(mode: .output)
    }

    var receivedCount: Int { collector.snapshot.responses.count }
    var isClosed: Bool { collector.snapshot.closed }

    func close() async {
        try? await channel.close()
    }
}

final class ResponseCollector: Sendable {
    struct State: Sendable {
        var responses: [RawHTTPClient.Response] = []
        var closed = false
    }
    private let state = NIOLockedValueBox(State())
    var snapshot: State { state.withLockedValue { $0 } }
    func append(_ response: RawHTTPClient.Response) { state.withLockedValue { $0.responses.append(response) } }
    func markClosed() { state.withLockedValue { $0.closed = true } }
}

private final class ResponseParsingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let collector: ResponseCollector
    private var pending: [UInt8] = []

    init(collector: ResponseCollector) { self.collector = collector }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        pending += buffer.readBytes(length: buffer.readableBytes) ?? []
        while let response = parseOne() { collector.append(response) }
    }

    /// Takes one complete response off the front of `pending`, skipping 1xx heads.
    private func parseOne() -> RawHTTPClient.Response? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headEnd = pending.indices.dropLast(3).first(where: { Array(pending[$0..<$0 + 4]) == separator }) else { return nil }
        let head = String(decoding: pending[..<headEnd], as: UTF8.self)
        let lines = head.components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        let status = parts.count >= 2 ? Int(parts[1]) ?? 0 : 0
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = (100..<200).contains(status) || status == 204 || status == 304 ? 0 : Int(headers["content-length"] ?? "0") ?? 0
        let bodyStart = headEnd + 4
        guard pending.count >= bodyStart + length else { return nil }
        let body = String(decoding: pending[bodyStart..<bodyStart + length], as: UTF8.self)
        pending.removeFirst(bodyStart + length)
        if (100..<200).contains(status) { return parseOne() }
        return RawHTTPClient.Response(status: status, headers: headers, body: body, receivedAt: .now)
    }

    func channelInactive(context: ChannelHandlerContext) {
        collector.markClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

/// Starts a backend, runs `body`, and shuts the backend down whatever happens.
func withBackend<T>(
    pod: String = "reviews-v1-0", workload: String = "reviews-v1", version: String = "v1",
    profile: BehaviorProfile = BehaviorProfile(), seed: UInt64 = 1, servesHTTP2: Bool = false,
    _ body: (SimulatedBackend) async throws -> T
) async throws -> T {
    try await withBackend(
        identity: BackendIdentity(workload: workload, version: version, pod: pod, namespace: "default"), profile: profile,
        seed: seed, servesHTTP2: servesHTTP2, body)
}

/// The same for a pod with this whole identity.
func withBackend<T>(
    identity: BackendIdentity, profile: BehaviorProfile = BehaviorProfile(), seed: UInt64 = 1, servesHTTP2: Bool = false,
    _ body: (SimulatedBackend) async throws -> T
) async throws -> T {
    let backend = try await SimulatedBackend.start(
        identity: identity, profile: profile, group: MultiThreadedEventLoopGroup.singleton, seed: seed, servesHTTP2: servesHTTP2)
    do {
        let result = try await body(backend)
        try await backend.shutdown()
        return result
    } catch {
        try? await backend.shutdown()
        throw error
    }
}
