import Foundation
import NIOCore

/// Just enough of an HTTP/1.1 response parser for a load generator: the status, one chosen
/// header's value, keep-alive, and the framing (Content-Length, chunked, or until close).
/// Every other header is skipped without being materialized; bodies are discarded as they
/// arrive. This is why `meshsim load` costs less CPU per request than a general client.
struct ResponseParser {
    enum Step: Equatable {
        /// The buffer is used up (or holds only part of a head or chunk line, left unread).
        case needMore
        /// One whole response was read; `status`, `keepAlive` and the subset fields describe it.
        case complete
        case failure(String)
    }

    private enum State {
        case head
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
    }

    /// Largest head accepted; a peer sending more without a blank line is not an HTTP server.
    static let maxHeadBytes = 64 * 1024

    /// The lower-cased name of the header whose value is kept.
    let wantedHeader: [UInt8]
    private var state = State.head
    /// The request was HEAD: its response has no body whatever the headers say.
    var expectsNoBody = false

    private(set) var status = 0
    private(set) var keepAlive = true
    /// The wanted header's value, when the last head had it; reused between responses.
    private(set) var wantedValue: [UInt8] = []
    private(set) var hasWantedValue = false

    init(wantedHeader: String) {
        self.wantedHeader = Array(wantedHeader.lowercased().utf8)
        wantedValue.reserveCapacity(64)
    }

    /// True between a response's first byte and its last.
    var isMidResponse: Bool {
        if case .head = state { return false }
        return true
    }

    /// The peer closed the connection: completes a response framed by the close.
    mutating func finishAtClose() -> Bool {
        if case .untilClose = state {
            state = .head
            return true
        }
        return false
    }

    /// Reads from `buffer` until one response completes, the bytes run out, or they are invalid.
    mutating func next(_ buffer: inout ByteBuffer) -> Step {
        while buffer.readableBytes > 0 {
            switch state {
            case .head:
                switch parseHead(&buffer) {
                case .needMore: return .needMore
                case .failure(let message): return .failure(message)
                case .interim: continue
                case .complete:
                    if case .head = state { return .complete }  // a body-less response
                }
            case .fixedBody(let remaining):
                let take = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: take)
                if take == remaining {
                    state = .head
                    return .complete
                }
                state = .fixedBody(remaining: remaining - take)
            case .chunkSize:
                guard let line = takeLine(&buffer) else {
                    return buffer.readableBytes > 1024 ? .failure("chunk size line too long") : .needMore
                }
                guard let size = Self.chunkSize(line) else { return .failure("invalid chunk size") }
                state = size == 0 ? .trailers : .chunkData(remaining: size)
            case .chunkData(let remaining):
                let take = min(remaining, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: take)
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard buffer.readableBytes >= 2 else { return .needMore }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else { return .failure("chunk not followed by CRLF") }
                state = .chunkSize
            case .trailers:
                guard let line = takeLine(&buffer) else {
                    return buffer.readableBytes > Self.maxHeadBytes ? .failure("trailers too long") : .needMore
                }
                if line.isEmpty {
                    state = .head
                    return .complete
                }
            case .untilClose:
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            }
        }
        return .needMore
    }

    /// Reads a CRLF-terminated line (without the CRLF), or nil leaving the buffer as it was.
    private func takeLine(_ buffer: inout ByteBuffer) -> [UInt8]? {
        let end: Int? = buffer.withUnsafeReadableBytes { bytes in
            guard bytes.count >= 2 else { return nil }
            for i in 0..<(bytes.count - 1) where bytes[i] == 0x0D && bytes[i + 1] == 0x0A { return i }
            return nil
        }
        guard let end, let line = buffer.readBytes(length: end) else { return nil }
        buffer.moveReaderIndex(forwardBy: 2)
        return line
    }

    static func chunkSize(_ line: [UInt8]) -> Int? {
        var size = 0
        var digits = 0
        for byte in line {
            let value: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(byte - UInt8(ascii: "A")) + 10
            case UInt8(ascii: ";"), UInt8(ascii: " "), UInt8(ascii: "\t"):
                return digits > 0 ? size : nil  // chunk extensions are ignored
            default: return nil
            }
            digits += 1
            guard digits <= 15 else { return nil }
            size = size << 4 | value
        }
        return digits > 0 ? size : nil
    }

    private enum HeadResult { case needMore, complete, interim, failure(String) }

    /// Parses a whole head if the buffer holds one, setting the state for its body. One pass over
    /// the lines (found with memchr); a head that is not complete yet is parsed again from its
    /// start when more bytes arrive, which is rare for the small heads of a load test.
    private mutating func parseHead(_ buffer: inout ByteBuffer) -> HeadResult {
        var result = HeadResult.needMore
        var consumed = 0
        buffer.withUnsafeReadableBytes { bytes in
            result = interpretHead(bytes, consumed: &consumed)
            if case .needMore = result, bytes.count > Self.maxHeadBytes {
                result = .failure("response head larger than \(Self.maxHeadBytes) bytes")
            }
        }
        if consumed > 0 { buffer.moveReaderIndex(forwardBy: consumed) }
        return result
    }

    /// The index of the next LF at or after `from`, or nil.
    @inline(__always)
    private static func newline(_ bytes: UnsafeRawBufferPointer, from: Int) -> Int? {
        guard from < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + from, 0x0A, bytes.count - from)
        else { return nil }
        return base.distance(to: UnsafeRawPointer(found))
    }

    private mutating func interpretHead(_ head: UnsafeRawBufferPointer, consumed: inout Int) -> HeadResult {
        // Status line: HTTP/1.x SSS[ reason]
        guard let statusEnd = Self.newline(head, from: 0) else { return .needMore }
        guard statusEnd >= 12, head[0] == UInt8(ascii: "H"), head[1] == UInt8(ascii: "T"), head[2] == UInt8(ascii: "T"),
            head[3] == UInt8(ascii: "P"), head[4] == UInt8(ascii: "/"), head[5] == UInt8(ascii: "1"), head[6] == UInt8(ascii: "."),
            head[8] == UInt8(ascii: " ")
        else { return .failure("not an HTTP/1.x response") }
        let isHTTP10 = head[7] == UInt8(ascii: "0")
        var code = 0
        for i in 9..<12 {
            let digit = head[i] &- UInt8(ascii: "0")
            guard digit <= 9 else { return .failure("invalid status code") }
            code = code * 10 + Int(digit)
        }
        guard code >= 100 else { return .failure("invalid status code") }
        status = code
        keepAlive = !isHTTP10
        hasWantedValue = false
        var contentLength: Int? = nil
        var chunked = false

        var lineStart = statusEnd + 1
        while true {
            guard let newline = Self.newline(head, from: lineStart) else { return .needMore }
            var lineEnd = newline
            if lineEnd > lineStart && head[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            if lineEnd == lineStart {
                consumed = newline + 1  // the blank line ending the head
                break
            }
            var colon = lineStart
            while colon < lineEnd && head[colon] != UInt8(ascii: ":") { colon += 1 }
            if colon < lineEnd {
                var valueStart = colon + 1
                while valueStart < lineEnd && (head[valueStart] == 0x20 || head[valueStart] == 0x09) { valueStart += 1 }
                var valueEnd = lineEnd
                while valueEnd > valueStart && (head[valueEnd - 1] == 0x20 || head[valueEnd - 1] == 0x09) { valueEnd -= 1 }
                let name = UnsafeRawBufferPointer(rebasing: head[lineStart..<colon])
                let value = UnsafeRawBufferPointer(rebasing: head[valueStart..<valueEnd])
                // Dispatch on the name's length first: most headers match none and cost one compare.
                if name.count == wantedHeader.count && Self.equalsLowercased(name, wantedHeader) {
                    wantedValue.removeAll(keepingCapacity: true)
                    wantedValue.append(contentsOf: value)
                    hasWantedValue = true
                } else {
                    switch name.count {
                    case 14 where Self.equalsLowercased(name, "content-length"):
                        guard let length = Self.decimal(value) else { return .failure("invalid Content-Length") }
                        if let previous = contentLength, previous != length { return .failure("conflicting Content-Length headers") }
                        contentLength = length
                    case 17 where Self.equalsLowercased(name, "transfer-encoding"):
                        chunked = Self.containsLowercased(value, "chunked")
                    case 10 where Self.equalsLowercased(name, "connection"):
                        if Self.containsLowercased(value, "close") { keepAlive = false }
                        if isHTTP10 && Self.containsLowercased(value, "keep-alive") { keepAlive = true }
                    default:
                        break
                    }
                }
            }
            lineStart = newline + 1
        }

        if code < 200 {
            // A 1xx response (100 Continue, 103 Early Hints) precedes the real one: read on.
            state = .head
            return .interim
        }
        if expectsNoBody || code == 204 || code == 304 {
            state = .head
        } else if chunked {
            state = .chunkSize
        } else if let contentLength {
            state = contentLength == 0 ? .head : .fixedBody(remaining: contentLength)
        } else {
            keepAlive = false
            state = .untilClose
        }
        return .complete
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ lowercased: [UInt8]) -> Bool {
        guard bytes.count == lowercased.count else { return false }
        for i in 0..<bytes.count where lower(bytes[i]) != lowercased[i] { return false }
        return true
    }

    /// Against a lower-case literal: no array, no lazy global on the hot path.
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        let token = literal.utf8Start
        for i in 0..<bytes.count where lower(bytes[i]) != token[i] { return false }
        return true
    }

    static func containsLowercased(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        let token = literal.utf8Start
        outer: for start in 0...(bytes.count - count) {
            for j in 0..<count where lower(bytes[start + j]) != token[j] { continue outer }
            return true
        }
        return false
    }

    static func decimal(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var value = 0
        for byte in bytes {
            let digit = byte &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            value = value * 10 + Int(digit)
        }
        return value
    }
}
