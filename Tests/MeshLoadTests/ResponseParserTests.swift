import NIOCore
import Testing

@testable import MeshLoad

@Suite struct ResponseParserTests {
    struct Outcome: Equatable {
        var status: Int
        var subset: String?
        var keepAlive: Bool
    }

    /// Feeds `chunks` in order (as separate reads, holding back unread bytes as the handler does)
    /// and collects each complete response.
    static func parse(_ chunks: [String], header: String = "x-meshsim-destination", head: Bool = false, closeAtEnd: Bool = false) -> (outcomes: [Outcome], failure: String?) {
        var parser = ResponseParser(wantedHeader: header)
        parser.expectsNoBody = head
        var outcomes: [Outcome] = []
        var held: ByteBuffer?
        for chunk in chunks {
            var buffer = ByteBuffer(string: chunk)
            if var earlier = held {
                held = nil
                earlier.writeBuffer(&buffer)
                buffer = earlier
            }
            loop: while true {
                switch parser.next(&buffer) {
                case .needMore:
                    if buffer.readableBytes > 0 { held = buffer }
                    break loop
                case .complete:
                    outcomes.append(Outcome(status: parser.status, subset: parser.hasWantedValue ? String(decoding: parser.wantedValue, as: UTF8.self) : nil, keepAlive: parser.keepAlive))
                case .failure(let message):
                    return (outcomes, message)
                }
            }
        }
        if closeAtEnd && parser.finishAtClose() {
            outcomes.append(Outcome(status: parser.status, subset: nil, keepAlive: false))
        }
        return (outcomes, nil)
    }

    static let v2 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Meshsim-Destination: reviews.default.svc.cluster.local|v2\r\n\r\nhello"

    @Test func readsStatusHeaderAndContentLength() {
        let result = Self.parse([Self.v2 + Self.v2])
        #expect(result.failure == nil)
        #expect(result.outcomes == [Outcome(status: 200, subset: "reviews.default.svc.cluster.local|v2", keepAlive: true)] + [Outcome(status: 200, subset: "reviews.default.svc.cluster.local|v2", keepAlive: true)])
    }

    @Test func survivesEveryByteArrivingAlone() {
        let text = Self.v2 + "HTTP/1.1 503 Service Unavailable\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\nnope\r\n0\r\nx-trailer: 1\r\n\r\n"
        let result = Self.parse(text.map { String($0) })
        #expect(result.failure == nil)
        #expect(result.outcomes.map(\.status) == [200, 503])
        #expect(result.outcomes[1].subset == nil)
    }

    @Test func readsChunkedBodies() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-meshsim-destination: a|v1\r\n\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n"
        let result = Self.parse([String(text.prefix(70)), String(text.dropFirst(70))])
        #expect(result.outcomes == [Outcome(status: 200, subset: "a|v1", keepAlive: true)])
    }

    @Test func framesByCloseWithoutLength() {
        let open = Self.parse(["HTTP/1.1 200 OK\r\nx-meshsim-destination: a|v1\r\n\r\nbody until close"])
        #expect(open.outcomes.isEmpty)
        let closed = Self.parse(["HTTP/1.1 200 OK\r\n\r\nbody until close"], closeAtEnd: true)
        #expect(closed.outcomes == [Outcome(status: 200, subset: nil, keepAlive: false)])
    }

    @Test func honoursConnectionSemantics() {
        #expect(Self.parse(["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"]).outcomes.first?.keepAlive == false)
        #expect(Self.parse(["HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"]).outcomes.first?.keepAlive == false)
        #expect(Self.parse(["HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"]).outcomes.first?.keepAlive == true)
    }

    @Test func skipsInterimResponsesAndBodylessOnes() {
        let result = Self.parse(["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nx-meshsim-destination: a|v2\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"])
        #expect(result.outcomes.map(\.status) == [204, 304])
        #expect(result.outcomes[0].subset == "a|v2")
        // A HEAD response carries Content-Length but no body.
        let head = Self.parse(["HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"], head: true)
        #expect(head.outcomes.count == 2)
    }

    @Test func readsAnotherHeaderWhenAsked() {
        let result = Self.parse(["HTTP/1.1 200 OK\r\nx-meshsim-version: v2\r\ncontent-length: 0\r\n\r\n"], header: "X-Meshsim-Version")
        #expect(result.outcomes.first?.subset == "v2")
    }

    @Test(arguments: [
        ("SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.x response"),
        ("HTTP/1.1 2x0 OK\r\n\r\n", "invalid status code"),
        ("HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", "invalid Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting Content-Length headers"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "invalid chunk size"),
    ])
    func rejectsMalformedResponses(text: String, problem: String) {
        #expect(Self.parse([text]).failure == problem)
    }

    @Test func rejectsAnEndlessHead() {
        let endless = "HTTP/1.1 200 OK\r\n" + String(repeating: "x-filler: aaaaaaaaaaaaaaaa\r\n", count: 3000)
        #expect(Self.parse([endless]).failure?.contains("larger than") == true)
    }

    @Test func subsetIsTheTextAfterTheBar() {
        let recorder = LoopRecorder()
        let v2 = recorder.subsetIndex(forHeaderValue: Array("reviews.default.svc.cluster.local|v2".utf8))
        #expect(recorder.subsetIndex(forHeaderValue: Array("v2".utf8)) == v2)
        let host = recorder.subsetIndex(forHeaderValue: Array("ratings.default.svc.cluster.local|".utf8))
        #expect(host != v2)
        recorder.recordResponse(classIndex: 0, status: 200, subset: host, latencyNanos: 1_000_000, measured: true)
        let sample = recorder.takeSample()
        #expect(sample.outcomes.keys.first?.subset == "ratings.default.svc.cluster.local")
    }
}
