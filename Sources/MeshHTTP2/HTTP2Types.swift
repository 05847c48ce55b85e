import NIOHTTP1

/// An HTTP/2 stream identifier (odd: opened by the client, even: pushed by the server).
public struct HTTP2StreamID: Hashable, Sendable, CustomStringConvertible {
    public let value: Int32

    public init(_ value: Int32) { self.value = value }

    public var description: String { String(self.value) }
}

/// RFC 9113 §7 error codes, as carried by RST_STREAM and GOAWAY.
public struct HTTP2ErrorCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public static let noError = HTTP2ErrorCode(0x0)
    public static let protocolError = HTTP2ErrorCode(0x1)
    public static let internalError = HTTP2ErrorCode(0x2)
    public static let flowControlError = HTTP2ErrorCode(0x3)
    public static let settingsTimeout = HTTP2ErrorCode(0x4)
    public static let streamClosed = HTTP2ErrorCode(0x5)
    public static let frameSizeError = HTTP2ErrorCode(0x6)
    public static let refusedStream = HTTP2ErrorCode(0x7)
    public static let cancel = HTTP2ErrorCode(0x8)
    public static let compressionError = HTTP2ErrorCode(0x9)
    public static let connectError = HTTP2ErrorCode(0xa)
    public static let enhanceYourCalm = HTTP2ErrorCode(0xb)
    public static let inadequateSecurity = HTTP2ErrorCode(0xc)
    public static let http11Required = HTTP2ErrorCode(0xd)

    public var description: String {
        let names = [
            "NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
            "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
            "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED",
        ]
        return self.rawValue < names.count ? names[Int(self.rawValue)] : "0x\(String(self.rawValue, radix: 16))"
    }
}

/// A request's pseudo-headers and regular headers (names lower-case, as on the wire).
public struct HTTP2RequestHead: Sendable, Equatable {
    public var method: String
    public var scheme: String
    /// `:authority`, or empty when the client sent none (then `headers["host"]` may carry it).
    public var authority: String
    public var path: String
    public var headers: HTTPHeaders

    public init(method: String, scheme: String = "http", authority: String, path: String, headers: HTTPHeaders = [:]) {
        self.method = method
        self.scheme = scheme
        self.authority = authority
        self.path = path
        self.headers = headers
    }
}

/// A response's `:status` and headers.
public struct HTTP2ResponseHead: Sendable, Equatable {
    public var status: Int
    public var headers: HTTPHeaders

    public init(status: Int, headers: HTTPHeaders = [:]) {
        self.status = status
        self.headers = headers
    }
}

/// Why a stream ended without both sides finishing normally.
public struct HTTP2StreamReset: Error, Sendable, Equatable {
    public enum Origin: Sendable, Equatable {
        /// The peer sent RST_STREAM.
        case remote
        /// This side reset it (an application call, a codec error, or a limit).
        case local
        /// No frame arrived on a stream still expecting one within the configured idle timeout.
        case idleTimeout
        /// The connection closed or went away (GOAWAY) before the stream finished.
        case connectionClosed
        /// This side found the peer breaking HTTP/2 (a malformed message or frame) and ended the
        /// connection with GOAWAY and an error code; every stream still open on it ends so.
        case protocolError
    }

    public var code: HTTP2ErrorCode
    public var origin: Origin

    public init(code: HTTP2ErrorCode, origin: Origin) {
        self.code = code
        self.origin = origin
    }
}

/// Errors the MeshHTTP2 API reports to its caller.
public enum HTTP2CodecError: Error, Sendable, Equatable {
    /// The stream is unknown or already closed.
    case unknownStream(HTTP2StreamID)
    /// A head, body or end was sent in the wrong order (for example body after end).
    case invalidStreamState(HTTP2StreamID, String)
    /// All of the peer's MAX_CONCURRENT_STREAMS are in use.
    case streamLimitReached(Int)
    /// The connection received or sent GOAWAY, or is closed: open no new streams on it.
    case connectionGoingAway
    /// nghttp2 refused a call; the text is `nghttp2_strerror`.
    case library(code: Int32, message: String)
    /// The h2c upgrade request could not be honoured (for example a malformed HTTP2-Settings).
    case badUpgradeRequest(String)
}
