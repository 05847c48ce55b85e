import CNGHTTP2

extension NGHTTP2Session {
    /// nghttp2 found a frame it refuses. Every refusal but one ends the whole connection with a
    /// GOAWAY (the code nghttp2 itself would give), as Envoy's codec does: its
    /// `ConnectionImpl::onInvalidFrame` (source/common/http/http2/codec_impl.cc) keeps the
    /// connection only for `NGHTTP2_ERR_REFUSED_STREAM`, and for `NGHTTP2_ERR_HTTP_HEADER` /
    /// `NGHTTP2_ERR_HTTP_MESSAGING` only when `stream_error_on_invalid_http_messaging` is set
    /// (default false; Istio leaves it alone on both sides of a sidecar). It fails the dispatch for
    /// `NGHTTP2_ERR_FLOW_CONTROL`, `NGHTTP2_ERR_PROTO`, `NGHTTP2_ERR_STREAM_CLOSED` and any other
    /// code. nghttp2 alone would treat some of these as stream errors: a malformed header block
    /// (a field name or value HTTP forbids, a connection-specific field, a missing or repeated
    /// pseudo-header, trailers without END_STREAM), and a WINDOW_UPDATE that overflows a stream's
    /// window. nghttp2 has already queued RST_STREAM for such a stream; the GOAWAY follows it.
    ///
    /// Refusals nghttp2 reports without this callback stay as nghttp2 handles them, as in Envoy:
    /// DATA beyond or short of a request's `content-length` resets that stream alone
    /// (RST_STREAM(PROTOCOL_ERROR)); DATA on a half-closed stream ends the connection
    /// (GOAWAY(STREAM_CLOSED)).
    func onInvalidFrame(libraryError: Int32) -> Int32 {
        // Too many streams opened before SETTINGS were acknowledged: nghttp2 refuses the stream
        // (safe for the peer to retry); the connection carries on.
        guard libraryError != NGHTTP2_ERR_REFUSED_STREAM.rawValue, let session else { return 0 }
        let code = Self.goAwayCode(forLibraryError: libraryError)
        if self.protocolErrorCode == nil { self.protocolErrorCode = code }
        _ = nghttp2_session_terminate_session(session, code.rawValue)
        self.events.sessionReceivedMalformedMessage()
        return 0
    }

    /// The error code nghttp2 puts in a GOAWAY or RST_STREAM for one of its library errors.
    static func goAwayCode(forLibraryError libraryError: Int32) -> HTTP2ErrorCode {
        switch libraryError {
        case NGHTTP2_ERR_STREAM_CLOSED.rawValue: return .streamClosed
        case NGHTTP2_ERR_HEADER_COMP.rawValue: return .compressionError
        case NGHTTP2_ERR_FRAME_SIZE_ERROR.rawValue: return .frameSizeError
        case NGHTTP2_ERR_FLOW_CONTROL.rawValue: return .flowControlError
        case NGHTTP2_ERR_PROTO.rawValue, NGHTTP2_ERR_HTTP_HEADER.rawValue, NGHTTP2_ERR_HTTP_MESSAGING.rawValue: return .protocolError
        default: return .internalError
        }
    }
}
