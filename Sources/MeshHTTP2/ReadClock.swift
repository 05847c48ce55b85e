import NIOCore

/// The clock as a connection handler reads it for the events of one socket read: once, the first
/// time an event asks, and the same reading for every later event of that read. A read carries
/// many requests or responses, and each asked the clock for its start, its response and its end
/// (three `clock_gettime` calls per proxied request); the events of one read differ from that
/// reading by the time it takes to handle the rest of the read, far below the milliseconds that
/// durations are reported in. Outside a read every call reads the clock.
struct ReadClock {
    private var isReading = false
    private var reading: NIODeadline?

    /// A socket read's bytes are about to be handled: the next `now()` reads the clock again.
    mutating func beginRead() {
        self.isReading = true
        self.reading = nil
    }

    mutating func endRead() {
        self.isReading = false
        self.reading = nil
    }

    mutating func now() -> NIODeadline {
        guard self.isReading else { return .now() }
        if let reading = self.reading { return reading }
        let time = NIODeadline.now()
        self.reading = time
        return time
    }
}
