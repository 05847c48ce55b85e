import NIOCore
import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// `NGHTTP2Session.lookup` keeps the last stream found (unmanaged, keyed by id): once that stream
/// leaves the session its id finds nothing, even when its object was reused for a later stream.
@Suite struct StreamLookupCacheTests {
    final class IgnoredEvents: NGHTTP2SessionEvents {
        func sessionReceivedHead(_ stream: HTTP2StreamState, endStream: Bool) {}
        func sessionReceivedBody(_ stream: HTTP2StreamState, _ chunk: ByteBuffer) {}
        func sessionReceivedEnd(_ stream: HTTP2StreamState, trailers: HTTPHeaders?) {}
        func sessionClosedStream(_ stream: HTTP2StreamState, reset: HTTP2StreamReset?) {}
        func sessionReceivedOversizedHeaders(_ stream: HTTP2StreamState) {}
        func sessionStreamIdleTimedOut(_ stream: HTTP2StreamState) {}
        func sessionStreamWritabilityChanged(_ stream: HTTP2StreamState) {}
        func sessionReceivedGoAway(lastStreamID: Int32, errorCode: HTTP2ErrorCode) {}
        func sessionReceivedSettings() {}
        func sessionReceivedPingAck() {}
        func sessionReceivedMalformedMessage() {}
    }

    /// As the session does when a stream closes (consumed: a binding left alive would keep the
    /// object from being recycled).
    static func removeAndRecycle(_ id: Int32, in session: NGHTTP2Session) -> Bool {
        guard let removed = session.removeStream(id) else { return false }
        session.recycle(consume removed)
        return true
    }

    @Test func aRemovedStreamIsNotFoundThroughTheCache() throws {
        let events = IgnoredEvents()
        let session = try NGHTTP2Session(role: .server, configuration: .default, events: events, allocator: ByteBufferAllocator())
        defer { session.close() }
        for id: Int32 in [1, 3] { session.streams[id] = session.makeStream(id: id) }
        var first = session.lookup(1)
        #expect(first?.id == 1)
        let firstObject = first.map(ObjectIdentifier.init)
        first?.unconsumedBytes = 7
        #expect(session.takeUnconsumed(1, upTo: 5) == 5)
        #expect(session.lookup(3)?.id == 3)
        #expect(session.lookup(1) === first)  // cached again
        first = nil
        // Stream 1 leaves; its object, unreferenced, goes to stream 5.
        #expect(Self.removeAndRecycle(1, in: session))
        #expect(session.lookup(1) == nil)
        #expect(session.takeUnconsumed(1, upTo: 5) == 0)
        #expect(!session.isWritable(HTTP2StreamID(1)))
        let fifth = session.makeStream(id: 5)
        #expect(ObjectIdentifier(fifth) == firstObject)  // the same object (else nothing is tested)
        session.streams[5] = fifth
        #expect(session.lookup(5) === fifth)
        #expect(session.lookup(1) == nil)
        #expect(session.takeUnconsumed(1, upTo: 5) == 0)
        #expect(session.lookup(5)?.id == 5)
        #expect(session.isWritable(HTTP2StreamID(5)))
    }
}
