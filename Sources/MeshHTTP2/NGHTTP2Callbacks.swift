import CNGHTTP2
import NIOCore

/// The C callback table. Every callback is a non-capturing closure that recovers the
/// `NGHTTP2Session` from `user_data` (passed unretained: the session outlives nghttp2's).
enum NGHTTP2Callbacks {
    /// Runs `body` with the session behind `user_data`, without retaining it for the call: the
    /// session owns the nghttp2 session that calls back, so it is alive throughout (a retain and
    /// release per callback were a fifth of the proxy's reference counting).
    @inline(__always)
    static func withSession(_ userData: UnsafeMutableRawPointer?, _ body: (NGHTTP2Session) -> Int32) -> Int32 {
        guard let userData else { return failure }
        return Unmanaged<NGHTTP2Session>.fromOpaque(userData)._withUnsafeGuaranteedRef(body)
    }

    static let failure = NGHTTP2_ERR_CALLBACK_FAILURE.rawValue

    static func install(on callbacks: OpaquePointer) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks) { _, frame, userData in
            guard let frame else { return NGHTTP2Callbacks.failure }
            return NGHTTP2Callbacks.withSession(userData) { $0.onBeginHeaders(frame) }
        }
        nghttp2_session_callbacks_set_on_header_callback(callbacks) {
            _,
            frame,
            name,
            nameLength,
            value,
            valueLength,
            _,
            userData in
            guard let frame, let name, let value else { return NGHTTP2Callbacks.failure }
            return NGHTTP2Callbacks.withSession(userData) {
                $0.onHeader(
                    streamID: frame.pointee.hd.stream_id,
                    name: UnsafeBufferPointer(start: name, count: nameLength),
                    value: UnsafeBufferPointer(start: value, count: valueLength)
                )
            }
        }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            guard let frame else { return NGHTTP2Callbacks.failure }
            return NGHTTP2Callbacks.withSession(userData) { $0.onFrameReceived(frame) }
        }
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks) { _, _, streamID, data, length, userData in
            guard let data else { return NGHTTP2Callbacks.failure }
            return NGHTTP2Callbacks.withSession(userData) { $0.onDataChunk(streamID: streamID, data: data, length: length) }
        }
        nghttp2_session_callbacks_set_on_stream_close_callback(callbacks) { _, streamID, errorCode, userData in
            NGHTTP2Callbacks.withSession(userData) { $0.onStreamClose(streamID: streamID, errorCode: errorCode) }
        }
        nghttp2_session_callbacks_set_on_frame_send_callback(callbacks) { _, frame, userData in
            guard let frame else { return NGHTTP2Callbacks.failure }
            return NGHTTP2Callbacks.withSession(userData) { $0.onFrameSent(frame) }
        }
        nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks) { _, frame, _, userData in
            guard let frame else { return NGHTTP2Callbacks.failure }
            return NGHTTP2Callbacks.withSession(userData) { $0.onFrameNotSent(frame) }
        }
        nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(callbacks) { _, _, libraryError, userData in
            NGHTTP2Callbacks.withSession(userData) { $0.onInvalidFrame(libraryError: libraryError) }
        }
        nghttp2_session_callbacks_set_send_data_callback(callbacks) { _, frame, frameHeader, length, _, userData in
            guard let frame, let frameHeader else { return NGHTTP2Callbacks.failure }
            return NGHTTP2Callbacks.withSession(userData) {
                $0.sendData(
                    streamID: frame.pointee.hd.stream_id,
                    frameHeader: frameHeader,
                    length: length,
                    padding: frame.pointee.data.padlen
                )
            }
        }
    }

    /// The read callback of every data provider; the queue lives in the stream's state.
    static let readData: nghttp2_data_source_read_callback = { _, streamID, _, length, flags, _, userData in
        guard let userData, let flags else { return Int(NGHTTP2_ERR_CALLBACK_FAILURE.rawValue) }
        return Unmanaged<NGHTTP2Session>.fromOpaque(userData)._withUnsafeGuaranteedRef {
            $0.readData(streamID: streamID, length: length, flags: flags)
        }
    }
}

extension NGHTTP2Session {
    private static let frameHeaders = UInt8(NGHTTP2_HEADERS.rawValue)
    private static let frameData = UInt8(NGHTTP2_DATA.rawValue)
    private static let frameRstStream = UInt8(NGHTTP2_RST_STREAM.rawValue)
    private static let frameGoAway = UInt8(NGHTTP2_GOAWAY.rawValue)
    private static let frameSettings = UInt8(NGHTTP2_SETTINGS.rawValue)
    private static let framePing = UInt8(NGHTTP2_PING.rawValue)
    private static let flagEndStream = UInt8(NGHTTP2_FLAG_END_STREAM.rawValue)
    private static let flagAck = UInt8(NGHTTP2_FLAG_ACK.rawValue)

    func onBeginHeaders(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let id = frame.pointee.hd.stream_id
        let opensStream = self.role == .server && frame.pointee.headers.cat == NGHTTP2_HCAT_REQUEST
        // A request's first HEADERS opens a stream above every id the table holds (ids only
        // rise): no lookup, which for a new id searched the whole table to find nothing.
        if !(opensStream && self.streams.isAboveNewest(id)), let stream = self.lent(id) {
            stream._withUnsafeGuaranteedRef { $0.sawActivity = true }
            self.inboundBlock.begin(streamID: id, collecting: true)
            return 0
        }
        guard opensStream else {
            self.inboundBlock.begin(streamID: id, collecting: false)
            return 0
        }
        self.insertReceivedStream(self.makeStream(id: id))  // Not held: the id is new.
        self.inboundBlock.begin(streamID: id, collecting: true)
        self.scheduleIdleSweep()
        return 0
    }

    /// One decoded field of the block `onBeginHeaders` opened (no stream lookup per field).
    func onHeader(streamID: Int32, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard streamID == self.inboundBlock.streamID else { return 0 }
        self.inboundBlock.store(
            name: name, value: value,
            maxListSize: self.configuration.maxHeaderListSize, maxCount: self.configuration.maxHeaderCount)
        return 0
    }

    func onFrameReceived(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let header = frame.pointee.hd
        switch header.type {
        case Self.frameHeaders:
            guard let lent = self.lent(header.stream_id) else { return 0 }
            lent._withUnsafeGuaranteedRef { stream in
                self.inboundBlock.move(into: stream, reusing: &self.spareFields)
                self.onHeadersReceived(stream, endStream: header.flags & Self.flagEndStream != 0)
            }
        case Self.frameData:
            guard let lent = self.lent(header.stream_id) else { return 0 }
            lent._withUnsafeGuaranteedRef { stream in
                stream.sawActivity = true
                if header.flags & Self.flagEndStream != 0 {
                    stream.remoteEnded = true
                    if !stream.detached { self.withEvents { $0.sessionReceivedEnd(stream, trailers: nil) } }
                }
            }
        case Self.frameRstStream:
            if let stream = self.lent(header.stream_id) { stream._withUnsafeGuaranteedRef { $0.receivedReset = true } }
            if self.role == .server && !self.takeResetToken(), let session {
                // Rapid reset (CVE-2023-44487): the peer cancels streams faster than allowed.
                _ = nghttp2_session_terminate_session(session, HTTP2ErrorCode.enhanceYourCalm.rawValue)
            }
        case Self.frameGoAway:
            self.goAwayReceived = true
            self.events.sessionReceivedGoAway(
                lastStreamID: frame.pointee.goaway.last_stream_id,
                errorCode: HTTP2ErrorCode(frame.pointee.goaway.error_code)
            )
        case Self.frameSettings:
            if header.flags & Self.flagAck == 0 {
                self.readPeerSettings()  // Before the handler, which may open streams up to the new limit.
                self.events.sessionReceivedSettings()
            }
        case Self.framePing:
            if header.flags & Self.flagAck != 0 { self.events.sessionReceivedPingAck() }
        default:
            break
        }
        return 0
    }

    private func onHeadersReceived(_ stream: HTTP2StreamState, endStream: Bool) {
        stream.sawActivity = true
        if stream.headerBlockTooLarge {
            if !stream.receivedHead || self.role == .client {
                stream.remoteEnded = stream.remoteEnded || endStream
                self.events.sessionReceivedOversizedHeaders(stream)
            } else {
                // Oversized trailers: the request was already delivered, so reset it.
                self.resetStream(stream, code: .internalError)
            }
            return
        }
        if self.role == .client && !stream.receivedHead && (100..<200).contains(stream.status) {
            return  // An informational response (100 Continue, 103); the final one follows.
        }
        if stream.receivedHead {
            stream.remoteEnded = true
            if !stream.detached { self.withEvents { $0.sessionReceivedEnd(stream, trailers: stream.headers) } }
            return
        }
        stream.receivedHead = true
        stream.remoteEnded = endStream
        if !stream.detached { self.withEvents { $0.sessionReceivedHead(stream, endStream: endStream) } }
    }

    func onDataChunk(streamID: Int32, data: UnsafePointer<UInt8>, length: Int) -> Int32 {
        guard let lent = self.lent(streamID) else {
            if let session { _ = nghttp2_session_consume_connection(session, length) }
            return 0
        }
        return lent._withUnsafeGuaranteedRef { self.onDataChunk(stream: $0, data: data, length: length) }
    }

    private func onDataChunk(stream: HTTP2StreamState, data: UnsafePointer<UInt8>, length: Int) -> Int32 {
        let streamID = stream.id
        stream.sawActivity = true
        stream.unconsumedBytes += length
        if stream.detached {
            self.consume(HTTP2StreamID(streamID), length)
            return 0
        }
        let chunk = self.inboundSlice(data, count: length)
        self.withEvents { $0.sessionReceivedBody(stream, chunk) }
        return 0
    }

    func onStreamClose(streamID: Int32, errorCode: UInt32) -> Int32 {
        guard let stream = self.removeStream(streamID) else { return 0 }
        if stream.unconsumedBytes > 0, let session {
            // The application can no longer consume these: give the connection window back.
            _ = nghttp2_session_consume_connection(session, stream.unconsumedBytes)
            stream.unconsumedBytes = 0
        }
        let code = HTTP2ErrorCode(errorCode)
        let reset: HTTP2StreamReset?
        if code == .noError && stream.remoteEnded && (stream.localEnded || stream.localResetSent) {
            reset = nil
        } else if code == .noError && stream.remoteEnded && stream.receivedReset {
            reset = nil  // A complete answer followed by RST_STREAM(NO_ERROR): stop sending, not a failure.
        } else if stream.receivedReset {
            reset = HTTP2StreamReset(code: code, origin: .remote)
        } else if let protocolError = self.protocolErrorCode {
            reset = HTTP2StreamReset(code: protocolError, origin: .protocolError)
        } else if self.goAwayReceived && code == .refusedStream {
            reset = HTTP2StreamReset(code: code, origin: .connectionClosed)
        } else {
            reset = HTTP2StreamReset(code: code == .noError ? .cancel : code, origin: .local)
        }
        self.failQueuedWrites(stream, error: reset ?? ChannelError.outputClosed)
        if !stream.detached { self.withEvents { $0.sessionClosedStream(stream, reset: reset) } }
        if stream.clientDelegate != nil { stream.clientDelegate = nil }  // A server stream's is nil: no release.
        self.recycle(consume stream)
        return 0
    }

    func onFrameSent(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        let header = frame.pointee.hd
        if header.type == Self.frameHeaders { self.headerBlock.frameLeft() }
        switch header.type {
        case Self.frameGoAway:
            self.goAwaySent = true
            let code = HTTP2ErrorCode(frame.pointee.goaway.error_code)
            // nghttp2 ended the connection for a frame it refused (no invalid-frame callback
            // for some, e.g. DATA on a half-closed stream).
            if code != .noError && self.protocolErrorCode == nil { self.protocolErrorCode = code }
        // Only a server refuses a stream with `resetAfterResponse` (a client's request HEADERS
        // needs no lookup).
        case Self.frameHeaders where header.flags & Self.flagEndStream != 0 && self.role == .server:
            if let lent = self.lent(header.stream_id) {
                lent._withUnsafeGuaranteedRef { stream in
                    // The refusal (431/408) is complete; tell the client to stop sending its body.
                    if stream.resetAfterResponse, !stream.remoteEnded { self.resetStream(stream, code: .noError) }
                }
            }
        default:
            break
        }
        return 0
    }

    /// A queued frame nghttp2 dropped (its stream closed first): a HEADERS frame's block is free.
    func onFrameNotSent(_ frame: UnsafePointer<nghttp2_frame>) -> Int32 {
        if frame.pointee.hd.type == Self.frameHeaders { self.headerBlock.frameLeft() }
        return 0
    }
}
