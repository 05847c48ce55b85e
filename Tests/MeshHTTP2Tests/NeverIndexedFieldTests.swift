import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// `x-request-id` (a fresh value per request) goes out as an HPACK literal that is never
/// indexed, so it does not churn either side's dynamic table; every other field stays
/// indexable. nghttpd (an independent decoder) prints each field it receives and marks the
/// never-indexed ones `sensitive`.
@Suite(.serialized) struct NeverIndexedFieldTests {
    @Test func requestIDsArriveIntactAndNeverIndexedOtherFieldsIndexable() async throws {
        let nghttpd = try await Nghttpd.start(files: ["page.bin": [1, 2, 3]], arguments: ["-v"])
        defer { nghttpd.stop() }
        let ids = (0..<3).map { "5f0c7a1e-0000-4000-8000-00000000000\($0)" }
        try await withClient(port: nghttpd.port) { client in
            // A head with HTTPHeaders (spelled with capitals: names go out lower-cased)...
            for id in ids.prefix(2) {
                let head = HTTP2RequestHead(
                    method: "GET", authority: "localhost", path: "/page.bin",
                    headers: ["X-Request-Id": id, "x-tenant": "blue"])
                #expect(try await client.request(head).head.status == 200)
            }
            // ...and the fields a proxy writes straight into the block.
            let last = ids[2]
            let stream = try await client.onLoop { connection in
                try connection.openStream(
                    method: "GET", path: "/page.bin", endStream: true, delegate: RecordingStreamDelegate(events: client.events)
                ) { writer in
                    writer.appendField(name: "host", value: "localhost")
                    writer.appendField(name: "x-tenant", value: "blue")
                    writer.appendField(name: "x-request-id", value: last)
                }
            }
            #expect(await client.events.wait { $0.contains { if case .end(stream, _) = $0 { true } else { false } } })
        }
        let complete = await nghttpd.waitForOutput { output in
            ids.allSatisfy { output.contains("x-request-id: \($0)") }
                && output.components(separatedBy: "\n").filter { $0.contains("x-tenant: blue") }.count == 3
        }
        #expect(complete, "\(nghttpd.output)")
        let lines = nghttpd.output.components(separatedBy: "\n")
        for id in ids {
            let received = lines.filter { $0.hasSuffix("x-request-id: \(id)") }
            #expect(received.count == 1)
            #expect(received.allSatisfy { $0.contains(", sensitive) ") }, "\(received)")
        }
        let tenant = lines.filter { $0.hasSuffix("x-tenant: blue") }
        #expect(tenant.count == 3)
        #expect(!tenant.contains { $0.contains("sensitive") }, "\(tenant)")
    }

    @Test func onlyTheRequestIDCountsAsUniquePerMessage() {
        func unique(_ name: String) -> Bool {
            var name = name
            return name.withUTF8 { HeaderBlock.isUniquePerMessage($0) }
        }
        #expect(unique("x-request-id"))
        #expect(!unique("x-request-ix"))
        #expect(!unique("x-request-id2"))
        #expect(!unique("x-envoy-attempt-count"))
        #expect(!unique(":path"))
    }
}
