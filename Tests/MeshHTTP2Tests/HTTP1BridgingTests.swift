import NIOHTTP1
import Testing

@testable import MeshHTTP2

@Suite struct HTTP1BridgingTests {
    @Test func requestHeadLosesHopByHopFieldsAndTakesAuthorityFromHost() {
        let http1 = HTTPRequestHead(
            version: .http1_1,
            method: .POST,
            uri: "/api?x=1",
            headers: [
                "Host": "reviews:9080", "Connection": "keep-alive, X-Hop", "X-Hop": "1", "Keep-Alive": "timeout=5",
                "Transfer-Encoding": "chunked", "TE": "trailers", "X-User-Group": "beta",
            ]
        )
        let http2 = HTTP2RequestHead(http1: http1)
        #expect(http2.method == "POST")
        #expect(http2.scheme == "http")
        #expect(http2.authority == "reviews:9080")
        #expect(http2.path == "/api?x=1")
        #expect(http2.headers.map { $0.name } == ["te", "x-user-group"])
        #expect(http2.headers["x-user-group"] == ["beta"])
    }

    @Test func requestHeadBackToHTTP11CarriesHost() {
        let http2 = HTTP2RequestHead(method: "GET", authority: "ratings", path: "/r", headers: ["x-a": "1"])
        let http1 = http2.http1
        #expect(http1.method == .GET)
        #expect(http1.uri == "/r")
        #expect(http1.headers["host"] == ["ratings"])
        #expect(http1.headers["x-a"] == ["1"])
    }

    @Test func responseHeadRoundTrip() {
        let http1 = HTTPResponseHead(
            version: .http1_1,
            status: .serviceUnavailable,
            headers: ["Connection": "close", "Content-Type": "text/plain"]
        )
        let http2 = HTTP2ResponseHead(http1: http1)
        #expect(http2.status == 503)
        #expect(http2.headers.map { $0.name } == ["content-type"])
        #expect(http2.http1.status == .serviceUnavailable)
    }
}
