import NIOCore
import NIOEmbedded
import Testing

@testable import MeshHTTP2

/// The sniffer's decision and replay, on an EmbeddedChannel so reads can be split at will.
@Suite struct SnifferTests {
    /// Collects what reaches the handler installed after the sniffer.
    final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var received = ByteBuffer()
        var reads = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = Self.unwrapInboundIn(data)
            self.received.writeBuffer(&buffer)
            self.reads += 1
        }
    }

    static func sniff(_ pieces: [String]) throws -> (HTTP2ProtocolSniffer.DetectedProtocol?, Collector, EmbeddedChannel)
    {
        let channel = EmbeddedChannel()
        let collector = Collector()
        var detected: HTTP2ProtocolSniffer.DetectedProtocol?
        let sniffer = HTTP2ProtocolSniffer { protocolFound, channel in
            detected = protocolFound
            try channel.pipeline.syncOperations.addHandler(collector)
        }
        try channel.pipeline.syncOperations.addHandler(sniffer)
        for piece in pieces { try channel.writeInbound(ByteBuffer(string: piece)) }
        return (detected, collector, channel)
    }

    @Test func prefaceSplitAcrossReadsSelectsHTTP2AndIsReplayedWhole() throws {
        let preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        let (detected, collector, channel) = try Self.sniff(["PRI * HT", "TP/2.0\r\n\r", "\nSM\r\n\r\n", "frames"])
        #expect(detected == .http2PriorKnowledge)
        #expect(String(buffer: collector.received) == preface + "frames")
        // The sniffer left the pipeline: the later read went straight to the collector.
        #expect(collector.reads == 2)
        #expect(throws: ChannelPipelineError.notFound) {
            try channel.pipeline.syncOperations.handler(type: HTTP2ProtocolSniffer.self)
        }
        _ = try channel.finish()
    }

    @Test func firstDifferingByteSelectsHTTP1() throws {
        let (detected, collector, channel) = try Self.sniff(["P", "UT / HTTP/1.1\r\n"])
        #expect(detected == .http1)
        #expect(String(buffer: collector.received) == "PUT / HTTP/1.1\r\n")
        _ = try channel.finish()
    }

    @Test func aPrefixOfThePrefaceWaitsForMoreBytes() throws {
        let (detected, collector, channel) = try Self.sniff(["PRI * HTTP/2.0\r\n"])
        #expect(detected == nil)
        #expect(collector.reads == 0)
        _ = try channel.finish()
    }

    @Test func base64URLDecodesHTTP2SettingsPayloads() {
        // SETTINGS_MAX_CONCURRENT_STREAMS (3) = 100, SETTINGS_INITIAL_WINDOW_SIZE (4) = 65535.
        #expect(Base64URL.decode("AAMAAABkAAQAAP__") == [0, 3, 0, 0, 0, 100, 0, 4, 0, 0, 255, 255])
        #expect(Base64URL.decode("not*base64") == nil)
    }
}
