import Foundation
import MeshTestSupport
import Testing

@testable import MeshHTTP2

/// A session's header-block storage is reused, but nghttp2 reads a submitted block's names and
/// values only when it serialises the frame (they are handed over without a copy): blocks
/// submitted together, before a flush, must each arrive with their own fields, including when
/// they outgrow the storage meanwhile.
@Suite(.serialized) struct HeaderBlockStorageTests {
    /// 30 requests opened in one event-loop turn (submitted before any flush), each with its own
    /// long values: about 6 KiB of blocks waiting at once, several times the initial storage.
    @Sendable static func tag(_ index: Int) -> String { "tag-\(index)-" + String(repeating: Character(String(index % 10)), count: 150) }

    @Test func requestsSubmittedTogetherEachCarryTheirOwnFields() async throws {
        let nghttpd = try await Nghttpd.start(files: ["page.bin": [7]], arguments: ["-v"])
        defer { nghttpd.stop() }
        let count = 30
        let streams = try await withClient(port: nghttpd.port) { client -> [HTTP2StreamID] in
            let streams = try await client.onLoop { connection in
                try (0..<count).map { index in
                    try connection.openStream(
                        method: "GET", path: "/page.bin?n=\(index)", endStream: true,
                        delegate: RecordingStreamDelegate(events: client.events)
                    ) { writer in
                        writer.appendField(name: "host", value: "localhost")
                        writer.appendField(name: "x-tag-\(index)", value: Self.tag(index))
                    }
                }
            }
            let ended = await client.events.wait { events in
                streams.allSatisfy { stream in events.contains { if case .end(stream, _) = $0 { true } else { false } } }
            }
            #expect(ended)
            #expect(try await client.onLoop { $0.openStreamCount } == 0)
            return streams
        }
        #expect(streams.count == count)
        let lines = nghttpd.output.components(separatedBy: "\n")
        for (index, stream) in streams.enumerated() {
            let prefix = "recv (stream_id=\(stream.value)) "
            let received = lines.compactMap { line in line.range(of: prefix).map { String(line[$0.upperBound...]) } }
            #expect(received.contains(":path: /page.bin?n=\(index)"), "\(received)")
            #expect(received.contains("x-tag-\(index): \(Self.tag(index))"), "\(received)")
            #expect(received.filter { $0.hasPrefix("x-tag-") }.count == 1, "\(received)")
        }
    }

    /// nghttp sends 30 requests at once; the server submits the 30 response heads before it
    /// flushes, each with its own `content-length`.
    @Test func responsesSubmittedTogetherEachCarryTheirOwnFields() async throws {
        let sizes = (0..<30).map { 1000 + 7 * $0 }
        let result = try await withAnswerServer { server in
            try await ChildProcess.run(
                "nghttp", ["-v", "-n"] + sizes.map { "\(server.url)/download?bytes=\($0)" }, timeout: .seconds(30))
        }
        #expect(result.status == 0, "\(result.stderr)")
        // nghttp prints a request's fields under its `send HEADERS frame <..., stream_id=N>` line,
        // and each received field as `recv (stream_id=N) name: value`.
        var pathOfStream: [String: String] = [:]
        var lengthOfStream: [String: String] = [:]
        var sendingStream: String?
        for line in result.stdout.components(separatedBy: "\n") {
            if line.contains("send HEADERS frame"), let id = line.range(of: "stream_id=") {
                sendingStream = String(line[id.upperBound...].prefix { $0.isNumber })
            } else if line.contains("] send ") || line.contains("] recv ") {
                sendingStream = nil
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let sendingStream, trimmed.hasPrefix(":path: ") { pathOfStream[sendingStream] = String(trimmed.dropFirst(7)) }
            guard let open = line.range(of: "recv (stream_id="), let close = line[open.upperBound...].firstIndex(of: ")") else { continue }
            let field = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
            if field.hasPrefix("content-length: ") { lengthOfStream[String(line[open.upperBound..<close])] = String(field.dropFirst(16)) }
        }
        #expect(pathOfStream.count == sizes.count)
        #expect(lengthOfStream.count == sizes.count)
        for (stream, length) in lengthOfStream {
            #expect(pathOfStream[stream] == "/download?bytes=\(length)", "stream \(stream)")
        }
    }
}
