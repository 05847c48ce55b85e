import MeshHTTP2
import NIOCore
import NIOHTTP1

@testable import MeshProxy

/// Decoded messages in a comparable form: bodies joined, however the bytes were split.
enum DecodedPart: Equatable, CustomStringConvertible {
    case head(String)
    case body([UInt8])
    case end([String]?)

    var description: String {
        switch self {
        case .head(let text): return "head(\(text))"
        case .body(let bytes): return "body(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
        case .end(let trailers): return "end(\(trailers.map { "\($0)" } ?? "nil"))"
        }
    }

    static func fields(_ headers: HTTPHeaders?) -> [String]? {
        headers.map { $0.map { "\($0.name): \($0.value)" } }
    }

    /// Appends `part`, joining it with a body before it.
    static func append(_ part: DecodedPart, to parts: inout [DecodedPart]) {
        if case .body(let more) = part, case .body(let before)? = parts.last {
            parts[parts.count - 1] = .body(before + more)
        } else if case .body(let bytes) = part, bytes.isEmpty {
            return
        } else {
            parts.append(part)
        }
    }
}

struct DecodeOutcome: Equatable, CustomStringConvertible {
    var parts: [DecodedPart] = []
    var error: HTTP1ParseError?

    var description: String { "\(parts)\(error.map { " error \($0)" } ?? "")" }
}

/// Ways to cut the same bytes into reads: whole, at every single offset, in 1- and 2-byte
/// pieces, and in seeded random pieces.
enum ByteSplits {
    static func all(_ bytes: [UInt8], seed: UInt64 = 7) -> [[[UInt8]]] {
        var splits: [[[UInt8]]] = [[bytes]]
        for offset in 1..<max(1, bytes.count) {
            splits.append([Array(bytes[..<offset]), Array(bytes[offset...])])
        }
        splits.append(pieces(bytes, size: 1))
        splits.append(pieces(bytes, size: 2))
        var random = FastRandom(seed: seed)
        for _ in 0..<8 {
            var cut: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let size = 1 + random.below(min(17, bytes.count - index))
                cut.append(Array(bytes[index..<(index + size)]))
                index += size
            }
            splits.append(cut)
        }
        return splits
    }

    static func pieces(_ bytes: [UInt8], size: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
    }
}

enum ParserHarness {
    static let limits = HTTP1Limits(maxBytes: 8 * 1024, maxFields: 100)

    /// Feeds `reads` one after the other into a request parser, taking every event it gives.
    static func decodeRequests(_ reads: [[UInt8]], limits: HTTP1Limits = limits) -> DecodeOutcome {
        var parser = HTTP1RequestParser(limits: limits)
        var buffer = ByteBuffer()
        var outcome = DecodeOutcome()
        for read in reads {
            buffer.writeBytes(read)
            do {
                while let event = try parser.next(&buffer) {
                    switch event {
                    case .head(let head):
                        let fields = head.fields.httpHeaders.map { "\($0.name): \($0.value)" }.joined(separator: "|")
                        DecodedPart.append(.head("\(head.method.rawValue) \(head.uri) \(head.version) [\(fields)]"), to: &outcome.parts)
                    case .body(let body):
                        DecodedPart.append(.body(Array(body.readableBytesView)), to: &outcome.parts)
                    case .end(let trailers):
                        DecodedPart.append(.end(DecodedPart.fields(trailers)), to: &outcome.parts)
                    }
                }
            } catch {
                outcome.error = error as? HTTP1ParseError
                return outcome
            }
        }
        return outcome
    }

    /// Feeds `reads` into a response parser answering requests whose methods are `methods` (in
    /// order); `closeAtEnd` reports the connection's close after the last read.
    static func decodeResponses(_ reads: [[UInt8]], methods: [HTTPMethod] = [.GET], closeAtEnd: Bool = false) -> DecodeOutcome {
        var parser = HTTP1ResponseParser()
        var pendingMethods = methods
        parser.answersHead = pendingMethods.first == .HEAD
        var buffer = ByteBuffer()
        var outcome = DecodeOutcome()
        func take(_ event: HTTP1ResponseParser.Event) {
            switch event {
            case .head(let head):
                let fields = (0..<head.fields.count).map { "\(head.fields.name(at: $0)): \(head.fields.value(at: $0))" }
                DecodedPart.append(.head("\(head.status) \(head.version) [\(fields.joined(separator: "|"))]"), to: &outcome.parts)
            case .body(let body):
                DecodedPart.append(.body(Array(body.readableBytesView)), to: &outcome.parts)
            case .end(let trailers):
                DecodedPart.append(.end(DecodedPart.fields(trailers)), to: &outcome.parts)
                if !pendingMethods.isEmpty { pendingMethods.removeFirst() }
                parser.answersHead = pendingMethods.first == .HEAD
            }
        }
        for read in reads {
            buffer.writeBytes(read)
            do {
                while let event = try parser.next(&buffer) { take(event) }
            } catch {
                outcome.error = error as? HTTP1ParseError
                return outcome
            }
        }
        if closeAtEnd, let last = parser.finish() { take(last) }
        return outcome
    }
}
