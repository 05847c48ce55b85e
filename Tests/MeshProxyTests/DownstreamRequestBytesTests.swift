import MeshConfig
import MeshHTTP2
import MeshRouting
import NIOHTTP1
import Testing

@testable import MeshProxy

/// Routing reads the proxy's request through byte accessors that lend the head's bytes; they
/// must hand it exactly the bytes of the string accessors they stand in for.
@Suite struct DownstreamRequestBytesTests {
    private static func fields(_ pairs: [(String, [UInt8])]) -> HeaderFields {
        var fields = HeaderFields()
        for (name, value) in pairs {
            Array(name.utf8).withUnsafeBytes { n in value.withUnsafeBytes { v in fields.append(name: n, value: v) } }
        }
        return fields
    }

    private static func bytes(_ call: ((UnsafeBufferPointer<UInt8>?) -> Void) -> Void) -> [UInt8]? {
        var copied: [UInt8]? = nil
        var calls = 0
        call { value in
            calls += 1
            copied = value.map(Array.init)
        }
        #expect(calls == 1)
        return copied
    }

    @Test func joinedHeaderBytesAreTheJoinedStringsBytes() {
        let head = DownstreamRequestHead(
            method: .GET, uri: "/api/items?id=1", version: .http1_1,
            fields: Self.fields([
                ("Host", Array("reviews:9080".utf8)), ("X-User-Group", Array("beta-testers-of-the-new-reviews".utf8)),
                ("x-multi", Array("1".utf8)), ("X-Multi", Array("2".utf8)), ("x-empty", []),
                ("x-latin1", [0x63, 0x61, 0x66, 0xE9]), ("x-utf8", Array("café".utf8)),
            ]),
            host: "reviews:9080")
        let request = DownstreamRequest(lending: head)
        for name in ["x-user-group", "x-multi", "x-empty", "x-latin1", "x-utf8", "x-missing", "host"] {
            let lent = Self.bytes { body in request.withJoinedHeaderUTF8(name, body) }
            #expect(lent == request.joinedHeader(name).map { Array($0.utf8) }, "\(name)")
        }
        #expect(Self.bytes { body in request.withJoinedHeaderUTF8("x-multi", body) } == Array("1,2".utf8))
        #expect(Self.bytes { body in request.withJoinedHeaderUTF8("x-empty", body) } == [])
        #expect(Self.bytes { body in request.withPathUTF8 { body($0) } } == Array(request.path.utf8))
        #expect(Self.bytes { body in request.withAuthorityUTF8 { body($0) } } == Array(request.authority.utf8))
    }

    /// The proxy's request routes as the plain `RouteRequest` with the same head does.
    @Test func routesAsTheSameRouteRequest() throws {
        let result = ConfigLoader().load(text: """
            apiVersion: networking.istio.io/v1
            kind: ServiceEntry
            metadata: {name: bench, namespace: default}
            spec:
              hosts: [bench.example]
              ports: [{number: 80, name: http, protocol: HTTP}]
              resolution: STATIC
              endpoints: [{address: 127.0.0.1}]
            ---
            apiVersion: networking.istio.io/v1
            kind: VirtualService
            metadata: {name: bench, namespace: default}
            spec:
              hosts: [bench.example]
              http:
              - name: group
                match: [{headers: {x-user-group: {exact: beta-testers-of-the-new-reviews}}}]
                route: [{destination: {host: bench.example}}]
              - name: joined
                match: [{headers: {x-multi: {exact: "1,2"}}}]
                route: [{destination: {host: bench.example}}]
              - name: api
                match: [{uri: {prefix: /api}}]
                route: [{destination: {host: bench.example}}]
              - name: rest
                route: [{destination: {host: bench.example}}]
            """, file: "bench.yaml")
        let snapshot = try RoutingSnapshot(resources: result.resources)
        let cases: [(String, [(String, String)], String)] = [
            ("/", [("X-User-Group", "beta-testers-of-the-new-reviews")], "group"),
            ("/", [("x-multi", "1"), ("x-multi", "2")], "joined"),
            ("/api/x", [("x-user-group", "beta")], "api"),
            ("/", [], "rest"),
        ]
        for (path, headers, rule) in cases {
            let head = DownstreamRequestHead(
                method: .GET, uri: path, version: .http1_1, fields: Self.fields(headers.map { ($0.0, Array($0.1.utf8)) }),
                host: "bench.example")
            var picker = DestinationPicker(mode: .exact)
            guard case .forward(let forward) = snapshot.route(DownstreamRequest(lending: head), picker: &picker) else {
                Issue.record("\(path) \(headers) is not forwarded")
                continue
            }
            #expect(forward.route.ruleName == rule, "\(path) \(headers)")
            guard case .forward(let plain) = snapshot.route(RouteRequest(authority: "bench.example", path: path, headers: headers), picker: &picker)
            else {
                Issue.record("plain request not forwarded")
                continue
            }
            #expect(plain.route == forward.route)
        }
    }
}
