import CNGHTTP2

extension NGHTTP2Session {
    /// nghttp2 found a frame it refuses. For HTTP messaging (a malformed header block: a field
    /// name or value HTTP forbids, a connection-specific field, a missing or repeated pseudo-header,
    /// a body longer or shorter than its content-length) it has already reset the stream; the
    /// connection ends too, with GOAWAY(PROTOCOL_ERROR), as Envoy's codec does with
    /// `stream_error_on_invalid_http_messaging` at its default (false), which Istio leaves alone
    /// on both sides of a sidecar. Other refusals are connection errors nghttp2 handles itself.
    func onInvalidFrame(libraryError: Int32) -> Int32 {
        switch libraryError {
        case NGHTTP2_ERR_HTTP_HEADER.rawValue, NGHTTP2_ERR_HTTP_MESSAGING.rawValue:
            guard let session else { return 0 }
            _ = nghttp2_session_terminate_session(session, HTTP2ErrorCode.protocolError.rawValue)
            self.events.sessionReceivedMalformedMessage()
        default:
            break
        }
        return 0
    }
}
