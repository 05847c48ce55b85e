import MeshHTTP2
import NIOCore

/// One event loop's `ReadClock`, shared by its HTTP/1.1 downstream and upstream connections: an
/// HTTP/1.1 request read the clock for its start, its response head, its end and the
/// connection's idle timer (the last three all in the upstream read that carried the response).
/// Only its loop touches it (`@unchecked Sendable`: the upstream connection's factory closure
/// is `@Sendable`, and runs on that loop too).
final class LoopReadClock: @unchecked Sendable {
    private var clock = ReadClock()

    /// A socket read's bytes are about to be handled.
    @inline(__always)
    func beginRead() { clock.beginRead() }

    @inline(__always)
    func endRead() { clock.endRead() }

    @inline(__always)
    func now() -> NIODeadline { clock.now() }
}
