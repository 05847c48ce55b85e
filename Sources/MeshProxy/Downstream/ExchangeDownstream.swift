import NIOCore

/// What an `Exchange` needs from the client side it answers: one HTTP/1.1 connection
/// (`DownstreamHandler`, which takes serialized bytes) or one HTTP/2 stream
/// (`HTTP2DownstreamStream`, which takes heads, bodies and trailers: the exchange keeps it as
/// `http2Downstream` too).
protocol ExchangeDownstream: AnyObject {
    /// Where the client connects from, for `x-forwarded-for` and source-IP hashing.
    var remoteIP: String { get }
    /// Whether more response body may be queued now (else the upstream is not read).
    var isWritable: Bool { get }
    /// Response bytes queued towards the client, for the backpressure gauge.
    var queuedBytes: Int { get }
    var allocator: ByteBufferAllocator { get }
    /// HTTP/1.1: the bytes of the current request and of its response on the connection so far
    /// (Istio's `istio_request_bytes`/`istio_response_bytes`); nil for an HTTP/2 stream, whose
    /// frames are written after the exchange ends (the exchange counts those itself).
    var wireBytes: (received: Int, sent: Int)? { get }
    /// HTTP/1.1 only: an empty buffer to serialize a response head into (the storage of one
    /// sent before, when the connection can reuse it).
    func headBuffer(capacity: Int) -> ByteBuffer
    /// HTTP/1.1 only: serialized response bytes.
    func write(_ buffer: ByteBuffer)
    func flush()
    /// The exchange can take request body again.
    func resumeReadingIfWanted()
    /// The exchange is over: its response is complete (or abandoned).
    func exchangeFinished(_ finished: Exchange, closeConnection: Bool)
    /// The response cannot be completed: close the connection (HTTP/1.1) or reset the stream.
    func abort()
}

extension ExchangeDownstream {
    func headBuffer(capacity: Int) -> ByteBuffer {
        allocator.buffer(capacity: capacity)
    }
}
