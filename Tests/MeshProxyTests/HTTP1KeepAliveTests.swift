import MeshHTTP2
import NIOHTTP1
import Testing

@testable import MeshProxy

/// The allocation-free keep-alive verdict agrees with NIO's `isKeepAlive` (computed from the
/// fields, as for any head not decoded by llhttp) for every Connection value that matters.
@Suite struct HTTP1KeepAliveTests {
    static let connectionFields: [[String]] = [
        [], ["close"], ["keep-alive"], ["Keep-Alive"], [" CLOSE "], ["keep-alive, close"], ["upgrade, keep-alive"],
        ["keep-alive, keep-alive"], ["keep-alive", "keep-alive"], ["keep-alive", "close"], ["closed"], ["x, y,,"],
        ["te, close, keep-alive"], ["\tkeep-alive\t"],
    ]

    @Test(arguments: connectionFields)
    func agreesWithNIO(values: [String]) {
        for version in [HTTPVersion.http1_0, .http1_1] {
            var headers = HTTPHeaders([("Host", "reviews")])
            for value in values { headers.add(name: "Connection", value: value) }
            let request = HTTPRequestHead(version: version, method: .GET, uri: "/", headers: headers)
            #expect(request.keepsConnectionAlive == request.isKeepAlive, "\(values) \(version)")
            let response = HTTPResponseHead(version: version, status: .ok, headers: headers)
            #expect(response.keepsConnectionAlive == response.isKeepAlive, "\(values) \(version)")
            let fields = HeaderFields(headers)
            #expect(HTTP1KeepAlive.isKeepAlive(fields, version: version) == response.isKeepAlive, "bytes: \(values) \(version)")
        }
    }
}
