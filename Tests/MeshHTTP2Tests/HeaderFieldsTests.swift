import CNGHTTP2
import NIOHTTP1
import Testing

@testable import MeshHTTP2

@Suite struct HeaderFieldsTests {
    /// Every field, as `name: value` strings, in order.
    static func lines(_ fields: HeaderFields) -> [String] {
        (0..<fields.count).map { "\(fields.name(at: $0)): \(fields.value(at: $0))" }
    }

    @Test func keepsNamesAsGivenAndDuplicatesInOrder() {
        var fields = HeaderFields()
        fields.append(name: "Set-Cookie", value: "a=1")
        fields.append(name: "Host", value: "reviews")
        fields.append(name: "set-cookie", value: "b=2")
        #expect(Self.lines(fields) == ["Set-Cookie: a=1", "Host: reviews", "set-cookie: b=2"])
        #expect(fields.first(name: "SET-COOKIE") == "a=1")
        #expect(fields.firstIndex(name: "set-cookie") == 0)
        #expect(fields.firstIndex(name: "host") == 1)
        #expect(fields.firstIndex(name: "date") == nil)
        #expect(fields.contains(name: "HOST"))
        #expect(!fields.contains(name: "hos"))
        #expect(fields.httpHeaders["set-cookie"] == ["a=1", "b=2"])
    }

    @Test func emptyNamesAndValuesAreFields() {
        var fields = HeaderFields()
        fields.append(name: "x-empty", value: "")
        fields.append(name: "", value: "")
        fields.append(name: "x-after", value: "1")
        #expect(fields.count == 3)
        #expect(fields.first(name: "x-empty") == "")
        #expect(fields.valueLength(at: 0) == 0)
        #expect(fields.nameLength(at: 1) == 0)
        #expect(fields.value(at: 2) == "1")
        var seen: [String] = []
        fields.forEachField { name, value in seen.append(String(decoding: name, as: UTF8.self) + "=" + String(decoding: value, as: UTF8.self)) }
        #expect(seen == ["x-empty=", "=", "x-after=1"])

        var onlyEmpty = HeaderFields()
        onlyEmpty.append(name: "", value: "")
        var count = 0
        onlyEmpty.forEachField { name, value in
            count += 1
            #expect(name.isEmpty && value.isEmpty)
        }
        #expect(count == 1)
    }

    @Test func everyValueOfANameInOrderAnyCase() {
        var fields = HeaderFields()
        fields.append(name: "Cookie", value: "a=1")
        fields.append(name: "x-other", value: "no")
        fields.append(name: "COOKIE", value: "b=2")
        fields.append(name: "cookies", value: "no")
        var seen: [String] = []
        fields.forEachValue(named: "cookie") { seen.append(String(decoding: $0, as: UTF8.self)) }
        #expect(seen == ["a=1", "b=2"])
        var none = 0
        fields.forEachValue(named: "absent") { _ in none += 1 }
        #expect(none == 0)
    }

    @Test func comparesNamesAndValuesIgnoringASCIICaseOnly() {
        var fields = HeaderFields()
        fields.append(name: "Content-Length", value: "TRAILERS")
        fields.append(name: "x-envoy-retry-on", value: "5xx")
        #expect(fields.nameEquals(at: 0, "content-length"))
        #expect(!fields.nameEquals(at: 0, "content-lengt"))
        #expect(fields.nameEquals(at: 0, "CONTENT-length" as String))
        #expect(fields.valueEquals(at: 0, "trailers"))
        #expect(fields.nameHasPrefix(at: 1, "x-envoy-"))
        #expect(!fields.nameHasPrefix(at: 0, "x-envoy-"))
        // Bytes that differ by 0x20 but are not letters are not the same name.
        fields.append(name: "a@", value: "")
        #expect(!fields.nameEquals(at: 2, "a`" as String))
    }

    @Test func nonASCIIValueBytesSurviveUnchanged() {
        var fields = HeaderFields()
        let raw: [UInt8] = [0x5A, 0x6F, 0xC3, 0xAB, 0x80, 0xFF, 0x09, 0x20]  // UTF-8, a lone continuation, 0xFF, HTAB, SP
        let name = Array("x-raw".utf8)
        name.withUnsafeBytes { nameBytes in raw.withUnsafeBytes { fields.append(name: nameBytes, value: $0) } }
        fields.append(name: "x-text", value: "Zoë ✓")
        fields.withField(at: 0) { name, value in
            #expect(Array(name) == Array("x-raw".utf8))
            #expect(Array(value) == raw)
        }
        #expect(fields.value(at: 1) == "Zoë ✓")
        #expect(fields.valueLength(at: 1) == "Zoë ✓".utf8.count)
    }

    @Test func removalKeepsTheOthersInOrderAndLaterAppendsWork() {
        var fields = HeaderFields(byteCapacity: 8, fieldCapacity: 1)
        for index in 0..<6 { fields.append(name: index % 2 == 0 ? "Keep-\(index)" : "X-Drop", value: "v\(index)") }
        fields.removeAll(name: "x-drop")
        #expect(Self.lines(fields) == ["Keep-0: v0", "Keep-2: v2", "Keep-4: v4"])
        fields.remove(at: 1)
        fields.append(name: "added", value: "after removal")
        #expect(Self.lines(fields) == ["Keep-0: v0", "Keep-4: v4", "added: after removal"])
        fields.removeFields { name, value in name.first == UInt8(ascii: "K") && value.last == UInt8(ascii: "4") }
        #expect(Self.lines(fields) == ["Keep-0: v0", "added: after removal"])
        fields.removeFields { _, _ in true }
        #expect(fields.isEmpty)
        fields.append(name: "again", value: "1")
        #expect(Self.lines(fields) == ["again: 1"])
    }

    @Test func replaceOrAddRemovesEveryFieldOfTheNameAndAppendsOne() {
        var fields = HeaderFields(HTTPHeaders([("X-A", "1"), ("b", "2"), ("x-a", "3")]))
        fields.replaceOrAdd(name: "x-A", value: "new")
        #expect(Self.lines(fields) == ["b: 2", "x-A: new"])
        var reference = HTTPHeaders([("X-A", "1"), ("b", "2"), ("x-a", "3")])
        reference.replaceOrAdd(name: "x-A", value: "new")
        #expect(fields.httpHeaders == reference)
    }

    @Test func growsPastItsCapacityWithoutLosingBytes() {
        var fields = HeaderFields(byteCapacity: 4, fieldCapacity: 1)
        var expected: [String] = []
        for index in 0..<300 {
            let value = String(repeating: Character(Unicode.Scalar(UInt8(65 + index % 26))), count: index % 50)
            fields.append(name: "x-field-\(index)", value: value)
            expected.append("x-field-\(index): \(value)")
        }
        #expect(fields.count == 300)
        #expect(Self.lines(fields) == expected)
    }

    @Test func emptiedFieldsAreReusedAndGrowAgain() {
        var fields = HeaderFields(byteCapacity: 16, fieldCapacity: 2)
        fields.append(name: "a", value: "1")
        fields.append(name: "b", value: "2")
        fields.removeAll()
        #expect(fields.isEmpty)
        #expect(fields.first(name: "a") == nil)
        for index in 0..<9 { fields.append(name: "n\(index)", value: String(repeating: "x", count: index)) }
        #expect(Self.lines(fields) == (0..<9).map { "n\($0): " + String(repeating: "x", count: $0) })
        fields.remove(at: 0)
        fields.remove(at: 7)
        #expect(Self.lines(fields).first == "n1: x")
        #expect(Self.lines(fields).last == "n7: xxxxxxx")
        #expect(fields.count == 7)
    }

    @Test func copiesAreIndependent() {
        var original = HeaderFields()
        original.append(name: "a", value: "1")
        var copy = original
        copy.append(name: "b", value: "2")
        copy.remove(at: 0)
        original.append(name: "c", value: "3")
        #expect(Self.lines(original) == ["a: 1", "c: 3"])
        #expect(Self.lines(copy) == ["b: 2"])
    }

    @Test func appendingAnotherBlocksFieldCopiesItsBytes() {
        var source = HeaderFields()
        source.append(name: "Content-Type", value: "text/plain")
        source.append(name: "x-b", value: "")
        var target = HeaderFields()
        target.append(name: "first", value: "1")
        target.append(source, at: 1)
        target.append(source, at: 0)
        #expect(Self.lines(target) == ["first: 1", "x-b: ", "Content-Type: text/plain"])
    }

    @Test func roundTripsThroughHTTPHeaders() {
        let headers = HTTPHeaders([("Host", "a"), ("x-b", ""), ("X-B", "two"), ("x-u", "ü")])
        let fields = HeaderFields(headers)
        #expect(fields.httpHeaders == headers)
        #expect(fields == HeaderFields(fields.httpHeaders))
        #expect(fields != HeaderFields(HTTPHeaders([("host", "a"), ("x-b", ""), ("X-B", "two"), ("x-u", "ü")])))
    }
}

/// The HTTP/2 header block built from byte fields is the one built from `HTTPHeaders`.
@Suite struct HeaderBlockFieldsTests {
    @Test func lowerCasesNamesAndDropsConnectionSpecificFieldsLikeTheHeadersPath() {
        let headers = HTTPHeaders([
            ("Content-Type", "text/plain"), ("Connection", "close"), ("TE", "trailers"), ("te", "gzip"),
            ("Transfer-Encoding", "chunked"), ("Host", "a"), ("X-Empty", ""), ("Set-Cookie", "a=1"), ("set-cookie", "b=2"),
            ("Keep-Alive", "timeout=5"), ("Upgrade", "h2c"), ("x-u", "Zoë"),
        ])
        let fromHeaders = HeaderBlock()
        fromHeaders.append(name: ":status", value: "200")
        fromHeaders.append(headers)
        let fromFields = HeaderBlock()
        fromFields.append(name: ":status", value: "200")
        fromFields.append(HeaderFields(headers))
        #expect(fromFields.fieldLines == fromHeaders.fieldLines)
        #expect(fromFields.fieldLines == [
            ":status: 200", "content-type: text/plain", "te: trailers", "x-empty: ", "set-cookie: a=1", "set-cookie: b=2", "x-u: Zoë",
        ])
    }

    @Test(arguments: [0, 7, 200, 404, 1_000, -3, Int.max, Int.min])
    func decimalValuesAreTheStringsDigits(_ value: Int) {
        let block = HeaderBlock()
        block.append(name: ":status", decimal: value)
        block.append(name: "x-after", value: "1")
        #expect(block.fieldLines == [":status: \(String(value))", "x-after: 1"])
    }

    @Test func authorityComesFromTheFirstHostFieldAndHostItselfIsDropped() {
        let fields = HeaderFields(HTTPHeaders([("x-a", "1"), ("Host", "reviews:9080"), ("host", "second")]))
        let block = HeaderBlock()
        block.append(name: ":authority", valueOfFirst: "host", in: fields)
        block.append(name: ":path", value: "/")
        block.append(fields)
        #expect(block.fieldLines == [":authority: reviews:9080", ":path: /", "x-a: 1"])
        let noHost = HeaderBlock()
        noHost.append(name: ":authority", valueOfFirst: "host", in: HeaderFields())
        #expect(noHost.fieldLines == [":authority: "])
    }

    @Test func fieldsLentToTheBlockGiveTheBlockCopyingThemGives() {
        let fields = HeaderFields(HTTPHeaders([
            ("content-type", "text/plain"), ("Connection", "close"), ("te", "trailers"), ("TE", "gzip"), ("X-Mixed", "Case"),
            ("host", "a"), ("x-empty", ""), (":path", "/no"), ("keep-alive", "5"),
        ]))
        let other = HeaderFields(HTTPHeaders([("X-Other", "1"), ("transfer-encoding", "chunked")]))
        let copied = HeaderBlock()
        copied.append(name: ":status", value: "200")
        copied.append(fields)
        copied.append(other)
        let lent = HeaderBlock()
        let whileLent = lent.borrowing(fields) { () -> [String] in
            lent.reset()
            lent.append(name: ":status", value: "200")
            lent.append(fields)
            lent.append(other)  // Not the lent fields: copied.
            return lent.fieldLines
        }
        #expect(whileLent == copied.fieldLines)
        #expect(whileLent == [":status: 200", "content-type: text/plain", "te: trailers", "x-mixed: Case", "x-empty: ", "x-other: 1"])
        // Nothing may point into the fields once the loan ends.
        #expect(lent.fieldLines.isEmpty)
    }

    /// A head written field by field while fields are lent (`HTTP2ResponseFieldWriter`) is the
    /// block the same fields give when appended whole: values inside the loan pointed to, others
    /// (and every name) copied, nothing left pointing into the fields once the loan ends.
    @Test func fieldsWrittenOneByOneDuringALoanGiveTheBlockAppendingThemGives() {
        let fields = HeaderFields(HTTPHeaders([
            ("content-type", "text/plain"), ("Connection", "close"), ("te", "trailers"), ("TE", "gzip"), ("X-Mixed", "Case"),
            ("host", "a"), ("x-empty", ""), (":path", "/no"), ("keep-alive", "5"), ("Transfer-Encoding", "chunked"),
        ]))
        let copied = HeaderBlock()
        copied.append(name: ":status", value: "200")
        copied.append(fields)
        copied.append(name: "server", value: "envoy")
        copied.append(name: "x-own", value: "1")
        let lent = HeaderBlock()
        let whileLent = lent.borrowing(fields) { () -> [String] in
            lent.reset()
            lent.append(name: ":status", value: "200")
            var writer = HTTP2ResponseFieldWriter(block: lent)
            fields.forEachField { name, value in writer.appendField(name: name, value: value) }
            "envoy".utf8.withContiguousStorageIfAvailable { writer.appendField(name: "server", value: UnsafeRawBufferPointer($0)) }
            writer.appendField(name: "X-Own", value: "1")
            return lent.fieldLines
        }
        #expect(whileLent == copied.fieldLines)
        #expect(whileLent == [
            ":status: 200", "content-type: text/plain", "te: trailers", "x-mixed: Case", "x-empty: ", "server: envoy", "x-own: 1",
        ])
        #expect(lent.fieldLines.isEmpty)
    }

    /// Fields a response writer has judged already (`appendJudgedField`: no pseudo-header, no
    /// connection-specific name) give the block the tested appends give, names lower-cased unless
    /// said to be, with the same HPACK representation (`x-request-id` never indexed); their values
    /// are the block's own copies (nghttp2 copies nothing of them), moved along when the block's
    /// storage is outgrown meanwhile, and still there once the loan ends.
    @Test(arguments: [false, true])
    func judgedFieldsGiveTheBlockTheTestedAppendsGive(growing: Bool) {
        let mixed = HeaderFields(HTTPHeaders([
            ("Content-Type", "text/plain"), ("x-meshsim-pod", "bench-0"), ("X-Request-ID", "id-1"), ("x-empty", ""), ("Set-Cookie", "a=1"),
        ]))
        let lowercase = HeaderFields(HTTPHeaders([("content-type", "text/plain"), ("x-request-id", "id-2"), ("x-b", "2")]))
        let long = String(repeating: "v", count: 3000)
        for (fields, namesAreLowercase) in [(mixed, false), (lowercase, true), (lowercase, false)] {
            let tested = HeaderBlock()
            let judged = HeaderBlock()
            let results = [tested, judged].map { block in
                block.borrowing(fields) { () -> ([String], [UInt8]) in
                    block.reset()
                    block.append(name: ":status", value: "200")
                    var writer = HTTP2ResponseFieldWriter(block: block)
                    fields.forEachField { name, value in
                        if block === judged {
                            writer.appendJudgedField(name: name, value: value, nameIsLowercase: namesAreLowercase)
                        } else {
                            writer.appendField(name: name, value: value)
                        }
                        if growing { long.utf8.withContiguousStorageIfAvailable { writer.appendField(name: "x-long", value: UnsafeRawBufferPointer($0)) } }
                    }
                    return (block.fieldLines, block.withNameValues { nva, count in (0..<count).map { nva![$0].flags } })
                }
            }
            #expect(results[1].0 == results[0].0)
            let neverIndexed = UInt8(NGHTTP2_NV_FLAG_NO_INDEX.rawValue)
            let valueInBlock = UInt8(NGHTTP2_NV_FLAG_NO_COPY_VALUE.rawValue)
            #expect(results[1].1.map { $0 & neverIndexed } == results[0].1.map { $0 & neverIndexed })
            #expect(results[1].1.allSatisfy { $0 & valueInBlock != 0 })
            #expect(results[1].0.count == 1 + fields.count * (growing ? 2 : 1))
            #expect(judged.fieldLines == results[1].0)
        }
    }

    @Test func aBlockLargerThanItsStorageGrows() {
        var fields = HeaderFields()
        for index in 0..<64 { fields.append(name: "X-Long-\(index)", value: String(repeating: "v", count: 100)) }
        let block = HeaderBlock()
        block.append(fields)
        let pairs = block.fieldLines
        #expect(pairs.count == 64)
        #expect(pairs.last == "x-long-63: " + String(repeating: "v", count: 100))
    }
}
