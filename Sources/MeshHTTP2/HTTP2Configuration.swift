import NIOCore

/// Settings and limits of one HTTP/2 connection (either role).
///
/// The defaults are deliberate: they follow Envoy's HTTP/2 protocol options where Envoy documents
/// one, and nghttp2's own mitigations otherwise. `docs/http2.md` explains each.
public struct HTTP2Configuration: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS advertised to the peer. Streams beyond it are refused by
    /// nghttp2 with RST_STREAM(REFUSED_STREAM). Envoy's default is 2147483647; 1024 bounds the
    /// memory one client can pin while staying far above what browsers and gRPC open.
    public var maxConcurrentStreams: UInt32 = 1024

    /// SETTINGS_INITIAL_WINDOW_SIZE: how many body bytes the peer may send on a stream before the
    /// application consumes them. Envoy defaults to 256 MiB; meshsim keeps windows small so that a
    /// slow consumer pushes back on the sender within a few hundred KiB.
    public var initialStreamWindowSize: Int32 = 256 * 1024

    /// The connection-level receive window, shared by all streams.
    public var connectionWindowSize: Int32 = 1024 * 1024

    /// SETTINGS_MAX_FRAME_SIZE we accept (RFC minimum 16 KiB; larger lets bodies go out in fewer frames).
    public var maxFrameSize: Int32 = 16 * 1024

    /// SETTINGS_MAX_HEADER_LIST_SIZE: the decoded size of one header block (RFC 9113 §6.5.2:
    /// name + value + 32 per field). A request over it gets a 431 response; a response over it
    /// resets the stream. Envoy's max_request_headers_kb default is 60 KiB.
    public var maxHeaderListSize: Int = 60 * 1024

    /// Header fields per block beyond which the block is rejected like an oversized one
    /// (Envoy's max_headers_count default, 100).
    public var maxHeaderCount: Int = 100

    /// A stream whose peer still owes frames (headers, body or end) and sends none for this long
    /// is reset (server: 408 if no response started, then RST_STREAM). Envoy's
    /// stream_idle_timeout default is 5 minutes. `nil` disables it.
    public var streamIdleTimeout: TimeAmount? = .minutes(5)

    /// Outgoing SETTINGS ACK and PING ACK frames that may queue unsent before the peer is treated
    /// as flooding (nghttp2 default 1000): SETTINGS and PING floods end in GOAWAY.
    public var maxOutboundAcks: Int = 1000

    /// SETTINGS entries accepted in one SETTINGS frame (nghttp2 default 32).
    public var maxSettingsEntries: Int = 32

    /// CONTINUATION frames accepted after one HEADERS (nghttp2 default 8; CVE-2024-28182).
    public var maxContinuations: Int = 8

    /// Rapid reset (CVE-2023-44487): a token bucket of RST_STREAM frames received from the peer.
    /// `resetBurst` tokens to start with, refilled at `resetRatePerSecond`; when it is empty the
    /// connection ends with GOAWAY(ENHANCE_YOUR_CALM). The counter is meshsim's own so that it
    /// works on any libnghttp2; nghttp2's built-in one (when present) is set to twice these values
    /// as a backstop.
    public var resetBurst: Int = 1000
    public var resetRatePerSecond: Int = 33

    /// Bytes queued on one stream's outbound body (written by the application, not yet sent)
    /// above which `isWritable(stream)` turns false, and below which it turns true again.
    public var streamOutboundHighWatermark: Int = 256 * 1024
    public var streamOutboundLowWatermark: Int = 64 * 1024

    /// How long a graceful shutdown waits for in-flight streams before closing the connection.
    public var gracefulShutdownTimeout: TimeAmount = .seconds(30)

    /// Client only: the peer's MAX_CONCURRENT_STREAMS assumed until its SETTINGS arrive
    /// (RFC 9113 recommends at least 100).
    public var assumedPeerMaxConcurrentStreams: UInt32 = 100

    public init() {}

    public static let `default` = HTTP2Configuration()
}
