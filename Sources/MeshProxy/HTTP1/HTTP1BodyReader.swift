import NIOCore
import NIOHTTP1

/// A message body after its head, as both parsers frame it: a known length, chunked (with
/// trailers), until the connection closes, or none. Bodies come out as slices of the input.
struct HTTP1BodyReader {
    enum Framing {
        case none
        case length(Int)
        case chunked
        case untilClose
    }

    enum Event {
        case body(ByteBuffer)
        /// The message ended; trailers when a chunked body had any.
        case end(HTTPHeaders?)
    }

    private enum State {
        case length(remaining: Int)
        case chunked
        case trailers
        case untilClose
        case end
    }

    private var state = State.end
    private var chunked = HTTP1ChunkedDecoder()

    /// Whether this body runs until the connection closes.
    var readsUntilClose: Bool {
        if case .untilClose = state { return true }
        return false
    }

    mutating func start(_ framing: Framing) {
        switch framing {
        case .none: state = .end
        case .length(let length): state = length > 0 ? .length(remaining: length) : .end
        case .chunked:
            chunked.reset()
            state = .chunked
        case .untilClose: state = .untilClose
        }
    }

    /// The next event from `buffer` (consuming its bytes), or nil until more bytes arrive.
    /// Trailers are read with `block`, which the caller resets for its next head.
    mutating func next(_ buffer: inout ByteBuffer, block: inout HTTP1FieldBlock, limits: HTTP1Limits) throws -> Event? {
        while true {
            switch state {
            case .length(let remaining):
                let available = buffer.readableBytes
                guard available > 0 else { return nil }
                let length = min(available, remaining)
                guard let slice = buffer.readSlice(length: length) else { return nil }
                state = length == remaining ? .end : .length(remaining: remaining - length)
                return .body(slice)
            case .untilClose:
                guard buffer.readableBytes > 0, let slice = buffer.readSlice(length: buffer.readableBytes) else { return nil }
                return .body(slice)
            case .chunked:
                switch try chunked.next(&buffer) {
                case .needMoreData:
                    return nil
                case .data(let slice):
                    return .body(slice)
                case .lastChunk:
                    block.reset(hasStartLine: false)
                    state = .trailers
                }
            case .trailers:
                guard let trailers = try HTTP1Fields.readTrailers(&block, from: &buffer, limits: limits) else { return nil }
                state = .end
                return .end(trailers.isEmpty ? nil : trailers)
            case .end:
                return .end(nil)
            }
        }
    }
}
