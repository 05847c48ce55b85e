import NIOCore

/// The clock as read for the events of one socket read: once, the first time an event asks, and
/// the same reading for every later event of that read. A read carries many requests or
/// responses, and each asked the clock for its start, its response and its end (three
/// `clock_gettime` calls per proxied request); the events of one read differ from that reading by
/// the time it takes to handle the rest of the read, far below the milliseconds that durations
/// are reported in. Outside a read every call reads the clock. Reads may nest (a clock shared by
/// an event loop's connections, MeshProxy's `LoopReadClock`, sees one connection's read handled
/// inside another's): a nested read keeps the outer one's reading.
public struct ReadClock {
    /// Reads begun and not ended.
    @usableFromInline var depth = 0
    @usableFromInline var reading: NIODeadline?

    public init() {}

    /// A socket read's bytes are about to be handled: the first read's next `now()` reads the clock.
    @inlinable
    public mutating func beginRead() {
        if self.depth == 0 { self.reading = nil }
        self.depth += 1
    }

    @inlinable
    public mutating func endRead() {
        self.depth -= 1
        if self.depth == 0 { self.reading = nil }
    }

    @inlinable
    public mutating func now() -> NIODeadline {
        guard self.depth > 0 else { return .now() }
        if let reading = self.reading { return reading }
        let time = NIODeadline.now()
        self.reading = time
        return time
    }
}
