import CNGHTTP2
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// `x-request-id` (a fresh value per request) goes out as an HPACK literal that is never
/// indexed, so it does not churn either side's dynamic table, except for a session's first one
/// (and one in `uniqueFieldIndexingInterval`), which is indexable so that the others can name
/// it by table index; every other field stays indexable. nghttpd (an independent decoder)
/// prints each field it receives and marks the never-indexed ones `sensitive`.
@Suite(.serialized) struct NeverIndexedFieldTests {
    @Test func requestIDsArriveIntactAndNeverIndexedButTheFirstOtherFieldsIndexable() async throws {
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
        for (index, id) in ids.enumerated() {
            let received = lines.filter { $0.hasSuffix("x-request-id: \(id)") }
            #expect(received.count == 1)
            // The session's first is indexable; the others never indexed.
            #expect(received.allSatisfy { $0.contains(", sensitive) ") == (index > 0) }, "\(received)")
        }
        let tenant = lines.filter { $0.hasSuffix("x-tenant: blue") }
        #expect(tenant.count == 3)
        #expect(!tenant.contains { $0.contains("sensitive") }, "\(tenant)")
    }

    /// On the wire (nghttp2's own encoder given the block's fields): the first request ID is a
    /// literal with incremental indexing and a literal name; the next ones are never-indexed
    /// literals whose name is that entry's index, until the interval comes round again.
    @Test func laterRequestIDsNameTheFirstByIndex() throws {
        var deflater: OpaquePointer?
        #expect(nghttp2_hd_deflate_new(&deflater, 4096) == 0)
        defer { nghttp2_hd_deflate_del(deflater) }
        let block = HeaderBlock()
        func encodeRequestID(_ id: String) -> [UInt8] {
            block.reset()
            var name = "x-request-id"
            var value = id
            name.withUTF8 { name in
                value.withUTF8 { value in
                    _ = block.appendCopying(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value))
                }
            }
            return block.withNameValues { nva, count in
                var output = [UInt8](repeating: 0, count: 256)
                let written = nghttp2_hd_deflate_hd(deflater, &output, output.count, UnsafeMutablePointer(mutating: nva), count)
                return Array(output.prefix(max(written, 0)))
            }
        }
        let first = encodeRequestID("5f0c7a1e-0000-4000-8000-000000000000")
        // 0x40: literal with incremental indexing, new name.
        #expect(first.first == 0x40, "\(first)")
        for round in 1..<HeaderBlock.uniqueFieldIndexingInterval {
            let later = encodeRequestID("5f0c7a1e-0000-4000-8000-\(String(round, radix: 16).leftPadded(to: 12))")
            // 0x1f 0x2f: never indexed, name at index 15 + 47 = 62 (the first dynamic entry).
            guard later.prefix(2) == [0x1f, 0x2f] else {
                Issue.record("request \(round): \(later)")
                return
            }
        }
        #expect(encodeRequestID("5f0c7a1e-0000-4000-8000-ffffffffffff").first == 0x7e)
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

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
