import MeshHTTP2
import NIOCore
import NIOHTTP1
import Testing

@testable import MeshProxy

/// The response status lines written from constants say what NIO's reason phrases say.
@Suite struct ResponseSerializerTests {
    @Test func constantStatusLinesMatchNIOsReasonPhrases() {
        var covered = 0
        for status in 100..<600 {
            guard let line = ResponseSerializer.commonStatusLine(status) else { continue }
            covered += 1
            let expected = "\(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n"
            #expect(line.description == expected)
        }
        #expect(covered == 14)
    }

    @Test func headIsTheSameWithAndWithoutTheConstant() {
        let headers = HeaderFields(["content-length": "0", "server": "meshsim"])
        var fast = ByteBuffer()
        ResponseSerializer.writeHead(status: 503, version: .http1_1, fields: headers, into: &fast)
        var spelled = ByteBuffer()
        ResponseSerializer.writeHead(status: 503, reason: "Service Unavailable", version: .http1_1, fields: headers, into: &spelled)
        #expect(fast == spelled)
        #expect(String(buffer: fast) == "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nserver: meshsim\r\n\r\n")
    }
}
