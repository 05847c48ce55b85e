import NIOHTTP1
import Testing

@testable import MeshHTTP2

/// A forwarded request's fields written straight into a header block
/// (`HTTP2RequestFieldWriter`) must make the same block as the same fields appended from a
/// `HeaderFields` (`openStream(forwardedFields:)`): names lower-cased, pseudo-headers and
/// connection-specific fields dropped, `te: trailers` kept, the first Host's value as
/// `:authority`.
@Suite struct RequestFieldWriterTests {
    static let cases: [[(String, String)]] = [
        [("user-agent", "h2load nghttp2/1.52.0"), ("accept", "*/*"), ("accept-encoding", "gzip, deflate"), ("host", "bench.example:80")],
        [
            ("Host", "first"), ("X-Mixed-Case", "Zoë ✓"), ("host", "second"), ("TE", "trailers"), ("te", "gzip"),
            ("Connection", "close"), ("Keep-Alive", "5"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAA"),
            ("Proxy-Connection", "x"), ("Transfer-Encoding", "chunked"), (":path", "/sneaky"), ("", "empty name"),
            ("x-request-id", "id"), ("a", ""), ("trailer", "x"),
        ],
        [("x-only", "no host")],
    ]

    static func written(_ pairs: [(String, String)], lowercase: Bool) -> [String] {
        let block = HeaderBlock()
        let authority = block.appendPlaceholder(name: ":authority")
        var writer = HTTP2RequestFieldWriter(block: block, authorityField: authority)
        writer.namesAreLowercase = lowercase
        for (name, value) in pairs {
            if name.count % 2 == 0 {
                writer.appendField(name: name, value: value)
            } else {
                var name = name
                var value = value
                name.withUTF8 { name in
                    value.withUTF8 { value in
                        writer.appendField(name: UnsafeRawBufferPointer(name), value: UnsafeRawBufferPointer(value))
                    }
                }
            }
        }
        return block.fieldLines
    }

    static func appended(_ pairs: [(String, String)]) -> [String] {
        var headerFields = HeaderFields()
        for (name, value) in pairs { headerFields.append(name: name, value: value) }
        let block = HeaderBlock()
        block.append(name: ":authority", valueOfFirst: "host", in: headerFields)
        block.append(headerFields)
        return block.fieldLines
    }

    @Test(arguments: 0..<cases.count)
    func writtenFieldsMakeTheBlockAppendedFieldsMake(index: Int) {
        let pairs = Self.cases[index]
        #expect(Self.written(pairs, lowercase: false) == Self.appended(pairs))
        // Names already lower-case (an HTTP/2 client's): the same block without lower-casing.
        let lowered = pairs.map { ($0.0.lowercased(), $0.1) }
        #expect(Self.written(lowered, lowercase: true) == Self.appended(lowered))
    }

    @Test func theFirstHostBecomesTheAuthorityAndNoHostFieldIsSent() {
        let fields = Self.written(Self.cases[1], lowercase: false)
        #expect(fields.first == ":authority: first")
        #expect(!fields.contains { $0.hasPrefix("host:") })
        #expect(fields.contains("te: trailers") && !fields.contains("te: gzip"))
        #expect(fields.contains("x-mixed-case: Zoë ✓"))
        #expect(Self.written(Self.cases[2], lowercase: true).first == ":authority: ")
    }

    /// Long names and values through a block (`ShortBytes` copies the short ones inline), as
    /// written and read back.
    @Test func longAndShortFieldsComeBackWhole() {
        let long = String(repeating: "v", count: 300)
        #expect(Self.written([("x-a", "1"), ("x-sixteen-bytes!", long), ("x-eight!", "12345678")], lowercase: true)
            == [":authority: ", "x-a: 1", "x-sixteen-bytes!: \(long)", "x-eight!: 12345678"])
    }
}
