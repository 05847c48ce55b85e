import MeshHTTP2
import MeshRouting
import NIOCore
import NIOPosix
import Testing

@testable import MeshProxy

/// A finished h2c upstream stream's object is handed to a later request by its pool
/// (`HTTP2ConnectionPool.assign`) once nothing else references it; `reuse(slot:)` must bring
/// every stored property back to what a fresh object has, or a later request inherits the
/// earlier one's state.
@Suite struct UpstreamStreamReuseTests {
    /// The stored properties; a property added to `HTTP2UpstreamStream` fails the test until it is
    /// listed here (and reset in `reuse(slot:)`).
    static let known: Set<String> = [
        "delegates", "receivedResponse", "wasReused", "pool", "isAssigned", "slot", "client", "id", "pendingHead", "holdsHead", "requestEnded",
        "responseEnded", "readsHeld", "unconsumedBytes",
    ]

    static func properties(_ stream: HTTP2UpstreamStream) -> [String: String] {
        var described: [String: String] = [:]
        for child in Mirror(reflecting: stream).children {
            guard let label = child.label else { continue }
            described[label.hasPrefix("_") ? String(label.dropFirst()) : label] = String(describing: child.value)
        }
        return described
    }

    static func pool(on loop: any EventLoop) -> HTTP2ConnectionPool {
        HTTP2ConnectionPool(
            address: EndpointAddress(host: "127.0.0.1", port: 1), eventLoop: loop, limits: nil, counters: WorkerStats.ClusterCounters(),
            connectTimeout: .seconds(1), maxRequestsPerConnection: 0, maxStreamsPerConnection: 0)
    }

    @Test func reuseLeavesNothingOfTheEarlierRequest() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let outcome = try await loop.submit { () -> (before: [String: String], fresh: [String: String], reused: [String: String], movedSlot: Bool) in
            let pool = Self.pool(on: loop)
            let first = HTTP2ConnectionPool.Slot(client: HTTP2ClientConnection(), eventLoop: loop)
            let second = HTTP2ConnectionPool.Slot(client: HTTP2ClientConnection(), eventLoop: loop)
            let used = HTTP2UpstreamStream(slot: first, pool: pool)
            // A request's life without a connection: reads held, the request ended, refused
            // before its response (reused connection), then a response head and its end.
            used.holdReads()
            used.write(.end(nil), promise: nil)
            used.streamReset(
                HTTP2StreamReset(code: .refusedStream, origin: .remote), stream: HTTP2StreamID(1), connection: first.client)
            used.responseHead(status: 200, fields: HeaderFields(), endStream: true, stream: HTTP2StreamID(1), connection: first.client)
            let before = Self.properties(used)
            let fresh = Self.properties(HTTP2UpstreamStream(slot: second, pool: pool))
            used.reuse(slot: second)
            return (before, fresh, Self.properties(used), used.slot === second)
        }.get()
        try await group.shutdownGracefully()
        #expect(Set(outcome.before.keys) == Self.known)
        // What the request changed differs from a fresh object's (else the test checks nothing).
        for name in ["receivedResponse", "wasReused", "isAssigned", "requestEnded", "responseEnded", "readsHeld"] {
            #expect(outcome.before[name] != outcome.fresh[name], "\(name) was not changed by the test")
        }
        #expect(outcome.reused == outcome.fresh)
        #expect(outcome.movedSlot)
    }

    /// The pool hands a finished stream's object out again only when nothing else holds it, and
    /// drops those of a connection that closed.
    @Test func thePoolReusesOnlyUnreferencedObjects() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let outcome = try await loop.submit { () -> (whileHeld: Bool, afterRelease: Bool, afterClose: Bool) in
            let pool = Self.pool(on: loop)
            let first = HTTP2ConnectionPool.Slot(client: HTTP2ClientConnection(), eventLoop: loop)
            let second = HTTP2ConnectionPool.Slot(client: HTTP2ClientConnection(), eventLoop: loop)
            var held: HTTP2UpstreamStream? = pool.assign(first)
            let heldID = held.map(ObjectIdentifier.init)
            held?.release(reusable: true)
            // Still referenced here: not handed out.
            var other: HTTP2UpstreamStream? = pool.assign(first)
            let whileHeld = other.map(ObjectIdentifier.init) != heldID
            held = nil
            let again = pool.assign(second)
            let afterRelease = ObjectIdentifier(again) == heldID && again.slot === second
            // Finished on the first connection, which then closes: its object is not kept (kept,
            // it would hold the closed connection).
            other?.release(reusable: true)
            weak let finished = other
            other = nil
            pool.connectionClosed(first.client)
            let afterClose = finished == nil
            again.release(reusable: true)
            return (whileHeld, afterRelease, afterClose)
        }.get()
        try await group.shutdownGracefully()
        #expect(outcome.whileHeld)
        #expect(outcome.afterRelease)
        #expect(outcome.afterClose)
    }

    /// A stream released by its only holder (as the exchange does at the response's end, handing
    /// its reference over) is kept by the pool and handed to the next request, not dropped.
    @Test func aStreamReleasedByItsOnlyHolderIsKeptForTheNextRequest() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let outcome = try await loop.submit { () -> (keptOnce: Bool, keptTwice: Bool) in
            let pool = Self.pool(on: loop)
            let slot = HTTP2ConnectionPool.Slot(client: HTTP2ClientConnection(), eventLoop: loop)
            var stream: HTTP2UpstreamStream? = pool.assign(slot)
            let firstID = stream.map(ObjectIdentifier.init)
            stream.take()?.release(reusable: true)
            stream = pool.assign(slot)
            let keptOnce = stream.map(ObjectIdentifier.init) == firstID
            weak let second = stream
            stream.take()?.release(reusable: true)
            let keptTwice = second != nil && ObjectIdentifier(pool.assign(slot)) == firstID
            return (keptOnce, keptTwice)
        }.get()
        try await group.shutdownGracefully()
        #expect(outcome.keptOnce)
        #expect(outcome.keptTwice)
    }
}
