import MeshHTTP2
import NIOHTTP1
import Testing

@testable import MeshProxy

/// How the request head names its authority and what it asks to switch to.
@Suite struct DownstreamRequestHeadTests {
    /// HTTP/2: `:authority` is the authority Envoy routes on; a `host` field that says otherwise
    /// is not believed (RFC 9113 §8.3.1), and counts only when `:authority` is absent.
    @Test func http2AuthorityWinsOverAHostField() {
        let both = DownstreamRequestHead(
            http2Method: "GET", authority: "reviews", path: "/", fields: HeaderFields(["host": "nowhere.example"]))
        #expect(both.host == "reviews")
        let hostOnly = DownstreamRequestHead(http2Method: "GET", authority: "", path: "/", fields: HeaderFields(["host": "ratings"]))
        #expect(hostOnly.host == "ratings")
        let authorityOnly = DownstreamRequestHead(http2Method: "GET", authority: "details:9080", path: "/", fields: HeaderFields())
        #expect(authorityOnly.host == "details:9080")
        // The authority is the head's Host, which the forwarded request is built from (not a
        // field: `hostIsAuthority`).
        #expect(authorityOnly.first(.host) == "details:9080" && authorityOnly.hostIsAuthority)
    }

    /// A gRPC call is told by its Content-Type's bytes as the lower-cased string told it.
    @Test(arguments: [
        "application/grpc", "application/grpc+proto", "Application/GRPC;x=1", "application/json", "application/grp", "",
        "text/plain", "application/grpc\u{301}", "application/grpcé", "appliçation/grpc", "APPLICATION/GRPC-WEB", "\u{212A}",
    ])
    func grpcContentTypeIsJudgedAsTheStringWas(contentType: String) {
        let head = DownstreamRequestHead(
            http2Method: "POST", authority: "reviews", path: "/", fields: HeaderFields(["content-type": contentType, "accept": "*/*"]))
        #expect(head.hasGRPCContentType == contentType.lowercased().hasPrefix("application/grpc"))
        #expect(RequestProtocol(head: head) == (contentType.lowercased().hasPrefix("application/grpc") ? .grpc : .http2))
        let none = DownstreamRequestHead(http2Method: "GET", authority: "reviews", path: "/", fields: HeaderFields())
        #expect(!none.hasGRPCContentType)
    }

    /// Envoy's `isUpgrade`: an Upgrade field and a Connection field naming `upgrade` among its
    /// tokens, on HTTP/1.1 only.
    @Test(arguments: [
        ("Connection: Upgrade|Upgrade: websocket", "websocket"),
        ("Connection: keep-alive,  UPGRADE \t|Upgrade: WebSocket", "WebSocket"),
        ("Connection: keep-alive|Connection: upgrade|Upgrade: foo", "foo"),
        ("Upgrade: websocket", nil),
        ("Connection: upgraded|Upgrade: websocket", nil),
        ("Connection: upgrade", nil),
    ] as [(String, String?)])
    func upgradeProtocolNeedsBothFields(fields: String, expected: String?) {
        var headerFields = HeaderFields()
        for line in fields.split(separator: "|") {
            let parts = line.split(separator: ":", maxSplits: 1)
            headerFields.append(name: String(parts[0]), value: parts[1].trimmingCharacters(in: .whitespaces))
        }
        let head = DownstreamRequestHead(method: .GET, uri: "/", version: .http1_1, fields: headerFields, host: "reviews")
        #expect(head.upgradeProtocol == expected)
        let old = DownstreamRequestHead(method: .GET, uri: "/", version: .http1_0, fields: headerFields, host: "reviews")
        #expect(old.upgradeProtocol == nil)
    }
}
