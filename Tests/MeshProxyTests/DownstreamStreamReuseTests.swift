import MeshConfig
import MeshHTTP2
import MeshRouting
import NIOCore
import NIOPosix
import Testing

@testable import MeshProxy

/// A closed HTTP/2 downstream stream's object is reused for a later stream of its connection
/// (`HTTP2DownstreamConnection`); `reuse(id:connection:)` must bring every stored property back
/// to what a fresh object has, or a later request inherits the earlier one's state.
@Suite struct DownstreamStreamReuseTests {
    /// The stored properties; a property added to `HTTP2DownstreamStream` fails the test until it
    /// is listed here (and reset in `reuse(id:connection:)`, or shown to be the connection's).
    static let known: Set<String> = ["id", "connection", "lentConnection", "owner", "exchange", "closed", "remoteIP"]

    static func properties(_ stream: HTTP2DownstreamStream) -> [String: String] {
        var described: [String: String] = [:]
        for child in Mirror(reflecting: stream).children {
            guard let label = child.label else { continue }
            described[label.hasPrefix("_") ? String(label.dropFirst()) : label] = String(describing: child.value)
        }
        return described
    }

    @Test func reuseLeavesNothingOfTheEarlierStream() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let outcome = try await loop.submit { () throws -> (before: [String: String], fresh: [String: String], reused: [String: String]) in
            let worker = Worker(
                index: 0, eventLoop: loop, configuration: ProxyConfiguration(),
                shared: try SharedProxyState(configuration: ProxyConfiguration()),
                snapshot: try RoutingSnapshot(resources: MeshResources()))
            let owner = HTTP2DownstreamConnection(worker: worker, remoteIP: "127.0.0.1")
            let connection = HTTP2ServerConnection(delegate: owner)
            let used = HTTP2DownstreamStream(id: HTTP2StreamID(1), connection: connection, owner: owner)
            used.markClosed()
            let before = Self.properties(used)
            let fresh = Self.properties(HTTP2DownstreamStream(id: HTTP2StreamID(3), connection: connection, owner: owner))
            used.reuse(id: HTTP2StreamID(3), connection: connection)
            return (before, fresh, Self.properties(used))
        }.get()
        try await group.shutdownGracefully()
        #expect(Set(outcome.before.keys) == Self.known)
        // What the closed stream changed differs from a fresh one's (else the test checks nothing).
        for name in ["id", "connection", "closed"] {
            #expect(outcome.before[name] != outcome.fresh[name], "\(name) was not changed by the test")
        }
        #expect(outcome.reused == outcome.fresh)
    }
}
