import NIOCore

/// The chunked transfer coding (RFC 9112 §7.1), read from a buffer up to the last chunk: chunk
/// data comes out as slices of the input, without copying. Trailers after the last chunk are the
/// caller's (they are a field block).
struct HTTP1ChunkedDecoder {
    enum Step {
        case needMoreData
        case data(ByteBuffer)
        /// The zero-size chunk: trailer fields (or the final CRLF) follow.
        case lastChunk
    }

    private enum State {
        case size
        case data(remaining: Int)
        case dataEnd
    }

    /// A chunk-size line (size and extensions) longer than this is refused.
    static let maxSizeLineBytes = 4096

    private var state = State.size
    private var searchFrom = 0

    mutating func reset() {
        state = .size
        searchFrom = 0
    }

    mutating func next(_ buffer: inout ByteBuffer) throws -> Step {
        while true {
            switch state {
            case .size:
                guard let (size, lineLength) = try readSizeLine(buffer) else { return .needMoreData }
                buffer.moveReaderIndex(forwardBy: lineLength)
                searchFrom = 0
                if size == 0 { return .lastChunk }
                state = .data(remaining: size)
            case .data(let remaining):
                let available = buffer.readableBytes
                guard available > 0 else { return .needMoreData }
                let length = min(remaining, available)
                guard let slice = buffer.readSlice(length: length) else { return .needMoreData }
                state = length == remaining ? .dataEnd : .data(remaining: remaining - length)
                return .data(slice)
            case .dataEnd:
                guard buffer.readableBytes >= 2 else {
                    if let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self), first != HTTP1Bytes.cr {
                        throw HTTP1ParseError.invalidChunkEnd
                    }
                    return .needMoreData
                }
                guard let end = buffer.readInteger(as: UInt16.self), end == 0x0D0A else { throw HTTP1ParseError.invalidChunkEnd }
                state = .size
            }
        }
    }

    /// The size of the next chunk and the length of its line (CRLF included), once the whole line
    /// is in. `1a;name=value` is a size with an extension (ignored); anything else is refused.
    private mutating func readSizeLine(_ buffer: ByteBuffer) throws -> (Int, Int)? {
        try buffer.withUnsafeReadableBytes { bytes -> (Int, Int)? in
            // Refuse a bad size byte as soon as it arrives rather than when the line ends.
            var index = 0
            var size = 0
            while index < bytes.count, let digit = HTTP1Bytes.hexValue(bytes[index]) {
                guard size < 1 << 56 else { throw HTTP1ParseError.invalidChunkSize }
                size = size << 4 | digit
                index += 1
            }
            let digits = index
            if index < bytes.count {
                let byte = bytes[index]
                guard digits > 0, byte == UInt8(ascii: ";") || byte == HTTP1Bytes.cr else { throw HTTP1ParseError.invalidChunkSize }
            }
            guard let lf = HTTP1Bytes.firstLF(in: bytes, from: max(searchFrom, index)) else {
                searchFrom = bytes.count
                if bytes.count > Self.maxSizeLineBytes { throw HTTP1ParseError.invalidChunkSize }
                return nil
            }
            guard lf > index, bytes[lf - 1] == HTTP1Bytes.cr else { throw HTTP1ParseError.invalidChunkSize }
            // Extensions: any field-value bytes (no control bytes) up to the CR.
            for position in index..<(lf - 1) where !HTTP1Bytes.isFieldValueByte(bytes[position]) {
                throw HTTP1ParseError.invalidChunkSize
            }
            return (size, lf + 1)
        }
    }
}
