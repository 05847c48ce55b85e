import NIOCore
import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// A closed stream's state object is reused for a new stream (`NGHTTP2Session`); `reuse(id:)`
/// must bring every stored property back to what a fresh object has, or a later stream inherits
/// the earlier one's flags.
@Suite struct StreamStateReuseTests {
    /// The stored properties this test sets; a property added to `HTTP2StreamState` fails the
    /// test until it is set here (and reset in `reuse(id:)`).
    static let known: Set<String> = [
        "id", "method", "scheme", "authority", "path", "status", "fieldBytes", "headerBlockTooLarge", "receivedHead",
        "remoteEnded", "receivedReset", "unconsumedBytes", "sawActivity", "sentHead", "hasDataProvider", "localEnded",
        "trailers", "deferred", "queue", "queuedBytes", "isWritable", "localResetSent", "detached", "resetAfterResponse",
        "clientDelegate",
    ]

    static func properties(_ state: HTTP2StreamState) -> [String: String] {
        var described: [String: String] = [:]
        for child in Mirror(reflecting: state).children {
            guard let label = child.label else { continue }
            described[label.hasPrefix("_") ? String(label.dropFirst()) : label] = String(describing: child.value)
        }
        return described
    }

    @Test func reuseLeavesNothingOfTheEarlierStream() {
        let used = HTTP2StreamState(id: 1)
        used.method = "POST"
        used.scheme = "https"
        used.authority = "reviews"
        used.path = "/a"
        used.status = 503
        used.fieldBytes = HeaderFields(["x-a": "1"])
        used.headerBlockTooLarge = true
        used.receivedHead = true
        used.remoteEnded = true
        used.receivedReset = true
        used.unconsumedBytes = 10
        used.sawActivity = false
        used.sentHead = true
        used.hasDataProvider = true
        used.localEnded = true
        used.trailers = ["grpc-status": "0"]
        used.deferred = true
        used.queue.append(OutboundChunk(bytes: ByteBuffer(string: "x"), promise: nil))
        used.queuedBytes = 1
        used.isWritable = false
        used.localResetSent = true
        used.detached = true
        used.resetAfterResponse = true

        let before = Self.properties(used)
        #expect(Set(before.keys) == Self.known)
        let fresh = Self.properties(HTTP2StreamState(id: 3))
        // Every property the test set differs from a fresh object's (else the test checks nothing).
        for (name, value) in before where !["id", "clientDelegate"].contains(name) {
            #expect(value != fresh[name], "\(name) was not changed by the test")
        }

        used.reuse(id: 3)
        #expect(Self.properties(used) == fresh)
    }
}
