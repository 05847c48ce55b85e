import MeshHTTP2
import NIOCore

/// The immutable facts of one run that every event loop works from. Times are
/// `NIODeadline.uptimeNanoseconds` (a monotonic clock).
struct RunPlan: Sendable {
    var address: SocketAddress
    /// Wire bytes of each class's request, encoded once.
    var requests: [ByteBuffer]
    /// Per class: a HEAD request, whose response has no body.
    var isHead: [Bool]
    var subsetHeader: String
    var timeoutNanos: UInt64
    var connectTimeout: TimeAmount
    var runStart: UInt64
    /// Requests whose (intended) send time is earlier are warmup.
    var measureStart: UInt64
    /// No request is sent at or after it; nil with `--requests` alone.
    var sendDeadline: UInt64?
    /// Open loop: nanoseconds between intended send times across all connections; nil for closed loop.
    var openLoopPeriod: Double?
    /// Connections opened in all (the open-loop schedule is interleaved across them).
    var totalSlots: Int
    var tickets: TicketDispenser
    /// HTTP/2 runs: each class's request as HTTP/2 sends it, and the lanes (streams) per connection.
    var http2Requests: [HTTP2LoadRequest]? = nil
    var streamsPerConnection: Int = 1
    /// gRPC calls: answers are recorded by their `grpc-status` (`GRPCOutcome`).
    var grpc = false

    /// When the open-loop request with sequence number `sequence` should go out.
    func intendedTime(_ sequence: Int) -> UInt64 {
        runStart &+ UInt64(Double(sequence) * (openLoopPeriod ?? 0))
    }
}

/// The clock of the hot path.
@inline(__always)
func uptimeNanos() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

/// One request class as an HTTP/2 client sends it.
struct HTTP2LoadRequest: Sendable {
    var head: HTTP2RequestHead
    var body: ByteBuffer?
}
