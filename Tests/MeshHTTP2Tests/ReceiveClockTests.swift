import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// A connection reads the clock once for all the events of one socket read (`ReadClock`), and
/// never hands that reading to a later read or to a call outside one.
@Suite struct ReceiveClockTests {
    @Test func oneReadingPerReadAndNoneCarriedOver() {
        var clock = ReadClock()
        clock.beginRead()
        let first = clock.now()
        #expect(clock.now() == first)
        clock.endRead()
        let betweenReads = NIODeadline.now()
        #expect(first <= betweenReads)
        // Outside a read every call reads the clock afresh.
        #expect(clock.now() >= betweenReads)
        clock.beginRead()
        let second = clock.now()
        #expect(second >= betweenReads)  // not the first read's reading, left over
        #expect(clock.now() == second)
        clock.endRead()
    }

    /// Records `eventTime` as each request head arrives.
    final class RecordingDelegate: HTTP2ServerDelegate {
        var times: [Int32: NIODeadline] = [:]

        func requestHead(_ head: HTTP2RequestHead, endStream: Bool, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {
            times[stream.value] = connection.eventTime
        }
        func requestBody(_ chunk: ByteBuffer, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
        func requestEnd(trailers: HTTPHeaders?, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
        func streamReset(_ reset: HTTP2StreamReset, stream: HTTP2StreamID, connection: HTTP2ServerConnection) {}
    }

    @Test func requestsOfOneReadShareItsReadingAndTheNextReadReadsAgain() throws {
        let delegate = RecordingDelegate()
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        try channel.pipeline.syncOperations.addHandler(HTTP2ServerConnection(delegate: delegate))
        let block = FrameBuilder.simpleGetBlock()
        var first = FrameBuilder.preface + FrameBuilder.settings()
        first += FrameBuilder.headers(stream: 1, block: block, endStream: true)
        first += FrameBuilder.headers(stream: 3, block: block, endStream: true)
        try channel.writeInbound(ByteBuffer(bytes: first))
        let betweenReads = NIODeadline.now()
        let second =
            FrameBuilder.headers(stream: 5, block: block, endStream: true) + FrameBuilder.headers(stream: 7, block: block, endStream: true)
        try channel.writeInbound(ByteBuffer(bytes: second))

        let times = delegate.times
        #expect(times.count == 4)
        #expect(times[1] != nil && times[1] == times[3])
        #expect(times[5] != nil && times[5] == times[7])
        if let early = times[1], let late = times[5] {
            #expect(early <= betweenReads)
            #expect(late >= betweenReads)
        }
    }
}
