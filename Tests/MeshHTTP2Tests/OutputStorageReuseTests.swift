import NIOCore
import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// A session writes each flush's frames into the storage the previous flush used, once the
/// channel wrote that out (`NGHTTP2Session.recycleOutputStorage`): a reused storage must start
/// empty, and one the channel still holds must not be written over. Either mistake sends stale
/// or torn frames, which the peer's codec rejects or which corrupt a body.
@Suite struct OutputStorageReuseTests {
    static func download(_ bytes: Int) -> HTTP2RequestHead {
        HTTP2RequestHead(method: "GET", authority: "localhost", path: "/download?bytes=\(bytes)")
    }

    static func expectPattern(_ response: HTTP2Response, count: Int) {
        #expect(response.head.status == 200)
        #expect(response.body.readableBytes == count)
        #expect(response.body == PatternBytes.buffer(offset: 0, count: count))
    }

    @Test func sequentialAnswersOfMixedSizesArriveIntact() async throws {
        try await withAnswerServer { server in
            try await withClient(port: server.port) { client in
                // Small bodies are copied beside their frame header into the output storage;
                // larger ones go out as slices after it. One request at a time: each flush finds
                // the previous one's storage written out and reuses it.
                for count in [1, 100, 2048, 2049, 70_000, 5, 1500, 300_000, 17] {
                    let response = try await client.request(Self.download(count))
                    Self.expectPattern(response, count: count)
                }
            }
        }
    }

    @Test func concurrentSmallBodiesOutgrowingTheKeptStorageThenSmallOnesArriveIntact() async throws {
        try await withAnswerServer { server in
            try await withClient(port: server.port) { client in
                // Forty 2000-byte echoes answered in the same read bursts grow one flush's storage
                // past what is kept (16 KiB); the rounds after it must still come out whole.
                for round in 0..<3 {
                    let responses = try await withThrowingTaskGroup(of: (Int, HTTP2Response).self) { group in
                        for index in 0..<40 {
                            group.addTask {
                                let body = ByteBuffer(bytes: [UInt8](repeating: UInt8(index + round), count: 2000))
                                let response = try await client.request(
                                    HTTP2RequestHead(method: "POST", authority: "localhost", path: "/echo"), body: body)
                                return (index, response)
                            }
                        }
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    #expect(responses.count == 40)
                    for (index, response) in responses {
                        #expect(response.body.readableBytes == 2000)
                        #expect(response.body.readableBytesView.allSatisfy { $0 == UInt8(index + round) })
                    }
                    for count in [3, 40] {
                        Self.expectPattern(try await client.request(Self.download(count)), count: count)
                    }
                }
            }
        }
    }
}
