import Foundation
import MeshProxy
import MeshTestSupport
import Testing

@testable import MeshProxy

/// Envoy believes the `x-envoy-*` headers that steer its router only from an internal request;
/// a sidecar's application (no `x-forwarded-for`, no `use_remote_address`) is not one.
@Suite struct InternalRequestTests {
    @Test(arguments: [
        ("10.1.2.3", true), ("172.16.0.1", true), ("172.31.255.255", true), ("192.168.1.1", true), ("127.0.0.1", true),
        ("::1", true), ("fd00::1", true), ("fc12::7", true), (" 10.0.0.1 ", true),
        ("172.32.0.1", false), ("11.0.0.1", false), ("203.0.113.7", false), ("2001:db8::1", false), ("fe80::1", false),
        ("10.0.0.1, 10.0.0.2", false), ("not-an-address", false), ("", false),
    ])
    func aSinglePrivateAddressIsInternal(forwardedFor: String, isInternal: Bool) {
        #expect(InternalRequest.isInternal(forwardedFor: forwardedFor) == isInternal)
    }

    /// The field's bytes are judged as the string was: no comma, trimmed of `.whitespaces`, a
    /// private address (the reference below is the string rule as it was written).
    @Test(arguments: [
        "10.1.2.3", "\t10.1.2.3\t", "  192.168.0.9", "10.1.2.3 ,", "\u{00A0}10.0.0.1\u{00A0}", "\u{2003}::1", "10.0.0.1\u{00A0}x",
        "::ffff:10.0.0.1", "[::1]", "10.0.0.1\n", "10.0.0.01", "0x0a.0.0.1", "fd00::", "FC00::1", "127.1", "é", "",
        " ", "172.15.255.255", "172.16.0.0/12", "10.0.0.1%eth0",
    ])
    func theFieldsBytesAreJudgedAsTheStringWas(forwardedFor: String) {
        func reference(_ value: String) -> Bool {
            guard !value.utf8.contains(UInt8(ascii: ",")) else { return false }
            return InternalRequest.isPrivate(value.trimmingCharacters(in: .whitespaces))
        }
        var bytes = Array(forwardedFor.utf8)
        let judged = bytes.withUnsafeMutableBytes { InternalRequest.isInternal(forwardedForBytes: UnsafeRawBufferPointer($0)) }
        #expect(judged == reference(forwardedFor), "\(forwardedFor.debugDescription)")
        #expect(InternalRequest.isInternal(forwardedFor: forwardedFor) == reference(forwardedFor))
    }

    @Test func noForwardedForIsExternal() {
        #expect(!InternalRequest.isInternal(forwardedFor: nil))
    }

    /// A 50 ms `x-envoy-upstream-rq-timeout-ms` against a pod that takes 400 ms: ignored from an
    /// application (the answer comes), believed from an internal client or with use_remote_address
    /// (504 UT). The pod sees `x-envoy-internal: true` only in the second case.
    @Test(arguments: [
        ("", false, false),
        ("X-Forwarded-For: 203.0.113.7\r\n", false, false),
        ("X-Forwarded-For: 10.0.0.7\r\n", false, true),
        ("", true, true),
        ("X-Forwarded-For: 10.0.0.7\r\n", true, false),
    ])
    func timeoutHeaderIsBelievedOnlyFromInside(forwardedFor: String, useRemoteAddress: Bool, believed: Bool) async throws {
        let yaml = TestMesh.service("slow", versions: ["v1": ["meshsim.dev/latency": "400ms"]])
        var configuration = TestMesh.configuration()
        configuration.useRemoteAddress = useRemoteAddress
        try await TestMesh.with(yaml: yaml, configuration: configuration) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send(
                "GET /echo HTTP/1.1\r\nHost: slow\r\n\(forwardedFor)x-envoy-upstream-rq-timeout-ms: 50\r\nx-envoy-internal: true\r\n\r\n")
            let response = try await connection.readResponse()
            if believed {
                #expect(response.status == 504)
            } else {
                #expect(response.status == 200)
                #expect(!response.bodyText.contains("x-envoy-internal"))
            }
        }
    }

    @Test func anInternalRequestReachesThePodMarked() async throws {
        let yaml = TestMesh.service("fast", versions: ["v1": [:]])
        try await TestMesh.with(yaml: yaml) { mesh in
            let connection = try RawConnection(port: mesh.port)
            try await connection.send("GET /echo HTTP/1.1\r\nHost: fast\r\nX-Forwarded-For: 192.168.3.4\r\n\r\n")
            let body = try await connection.readResponse().bodyText
            #expect(body.contains("\"x-envoy-internal\":\"true\""), "\(body)")
            #expect(body.contains("\"x-forwarded-for\":\"192.168.3.4\""), "\(body)")
        }
    }
}
