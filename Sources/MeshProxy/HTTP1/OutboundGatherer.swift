import NIOCore

/// Gathers a connection's small writes until its next flush, so a head and a small body (or a
/// chunk and its framing) reach the channel as one buffer: one pipeline write and one plain
/// `write` syscall instead of several, for the price of copying a few hundred bytes. A flush with
/// nothing written since the last is skipped. Writes that carry a promise, and large ones, pass
/// straight on (after what was gathered, so the order holds).
struct OutboundGatherer {
    /// Writes up to this size are copied into the gathered buffer.
    static let smallWrite = 4096
    /// The gathered buffer is handed on before it would grow past this.
    static let maxGathered = 16 * 1024

    private var gathered: ByteBuffer?
    private var unflushed = false
    /// When set, the last buffer handed on is kept, and `buffer(capacity:allocator:)` writes the
    /// next message into its storage once the channel has sent it (no allocation per message).
    private let recycles: Bool
    /// A buffer larger than this is not kept for the next message.
    private let recycledCapacityLimit: Int
    private var recycled: ByteBuffer?

    init(recycles: Bool = false, recycledCapacityLimit: Int = .max) {
        self.recycles = recycles
        self.recycledCapacityLimit = recycledCapacityLimit
    }

    /// Bytes gathered and not handed to the channel yet.
    var gatheredBytes: Int { gathered?.readableBytes ?? 0 }

    mutating func write(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        unflushed = true
        let size = buffer.readableBytes
        let small = promise == nil && size <= Self.smallWrite
        if small, var pending = gathered, pending.readableBytes + size <= Self.maxGathered {
            // Taken out first, so the buffer is uniquely held and grows in place.
            gathered = nil
            pending.writeImmutableBuffer(buffer)
            gathered = pending
            return
        }
        handOn(context)
        if small {
            gathered = buffer
        } else {
            context.write(NIOAny(buffer), promise: promise)
        }
    }

    /// An empty buffer to write the next message into: the storage of one handed on before when
    /// this gatherer recycles (`clear()` allocates anew only if the channel still holds it).
    mutating func buffer(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard var buffer = recycled else { return allocator.buffer(capacity: capacity) }
        recycled = nil
        buffer.clear()
        return buffer
    }

    /// Something that is not a byte buffer (a file region): after what was gathered.
    mutating func write(other data: NIOAny, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        unflushed = true
        handOn(context)
        context.write(data, promise: promise)
    }

    /// Hands what was gathered to the channel (without flushing).
    mutating func handOn(_ context: ChannelHandlerContext) {
        guard let pending = takeGathered() else { return }
        context.write(NIOAny(pending), promise: nil)
    }

    /// What was gathered, taken out (kept for recycling when this gatherer recycles).
    private mutating func takeGathered() -> ByteBuffer? {
        guard let pending = gathered else { return nil }
        gathered = nil
        if recycles && pending.capacity <= recycledCapacityLimit { recycled = pending }
        return pending
    }

    mutating func flush(_ context: ChannelHandlerContext) {
        guard unflushed else { return }
        unflushed = false
        // The usual case, one gathered buffer: written and flushed in one pass down the
        // pipeline rather than two.
        guard let pending = takeGathered() else {
            context.flush()
            return
        }
        context.writeAndFlush(NIOAny(pending), promise: nil)
    }

    /// The connection is gone: nothing gathered will be sent.
    mutating func discard() {
        gathered = nil
        recycled = nil
        unflushed = false
    }
}
