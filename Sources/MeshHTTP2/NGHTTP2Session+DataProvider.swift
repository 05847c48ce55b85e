import CNGHTTP2
import NIOCore

/// The session's side of nghttp2's data provider: how much of a stream's queued body goes into
/// its next DATA frame (`readData`, with the trailers submitted after the last one), and the
/// frame written without a copy by nghttp2 (`sendData`: the frame header, then the queued
/// bytes, small ones copied beside the header, large ones written as slices).
extension NGHTTP2Session {
    /// Bodies at most this long are copied next to their frame header: one write beats two.
    static let copyThreshold = 2048

    /// The NO_COPY path: the frame header, then the queued body bytes as ByteBuffer slices.
    func sendData(streamID: Int32, frameHeader: UnsafePointer<UInt8>, length: Int, padding: Int) -> Int32 {
        // The context is looked up only for a large chunk (binding it retains it).
        guard let lent = self.lent(streamID) else { return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue }
        return lent._withUnsafeGuaranteedRef { self.sendData(stream: $0, frameHeader: frameHeader, length: length, padding: padding) }
    }

    private func sendData(stream: HTTP2StreamState, frameHeader: UnsafePointer<UInt8>, length: Int, padding: Int) -> Int32 {
        guard stream.queuedBytes >= length, self.context != nil else {
            return NGHTTP2_ERR_CALLBACK_FAILURE.rawValue
        }
        self.pendingOutput.writeBytes(UnsafeRawBufferPointer(start: frameHeader, count: 9))
        if padding > 0 { self.pendingOutput.writeInteger(UInt8(padding - 1)) }
        var remaining = length
        // Each chunk is moved out of the queue (a copy retained its bytes and promise) and put
        // back with what is left of it.
        while remaining > 0, var chunk = stream.queue.takeFirst() {
            let take = min(remaining, chunk.bytes.readableBytes)
            let finished = take == chunk.bytes.readableBytes
            if take <= Self.copyThreshold {
                // Copied from the chunk's bytes in place: a slice retained and released its storage.
                _ = chunk.bytes.withUnsafeReadableBytes { self.pendingOutput.writeBytes(UnsafeRawBufferPointer(rebasing: $0.prefix(take))) }
                chunk.bytes.moveReaderIndex(forwardBy: take)
                if finished, let promise = chunk.promise { self.pendingOutputPromises.append(promise) }
            } else {
                self.writePendingOutput()
                let part = chunk.bytes.readSlice(length: take) ?? ByteBuffer()
                self.context?.write(NIOAny(part), promise: finished ? chunk.promise : nil)
                self.hasUnflushedWrites = true
            }
            if !finished {
                stream.queue.putBackFirst(consume chunk)
            } else if chunk.promise == nil {
                _ = consume chunk  // Known to hold no promise: only its bytes are released.
            }
            remaining -= take
        }
        if padding > 1 { self.pendingOutput.writeRepeatingByte(0, count: padding - 1) }
        self.dequeued(length, from: stream)
        return 0
    }

    private func dequeued(_ count: Int, from stream: HTTP2StreamState) {
        stream.queuedBytes -= count
        self.outboundQueuedBytes -= count
        if !stream.isWritable && stream.queuedBytes <= self.configuration.streamOutboundLowWatermark {
            stream.isWritable = true
            if !stream.detached { self.withEvents { $0.sessionStreamWritabilityChanged(stream) } }
        }
    }

    /// The data provider's read callback: how much of the queue may go into the next DATA frame.
    func readData(streamID: Int32, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let session, let lent = self.lent(streamID) else {
            return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue)
        }
        return lent._withUnsafeGuaranteedRef { self.readData(stream: $0, session: session, length: length, flags: flags) }
    }

    private func readData(stream: HTTP2StreamState, session: OpaquePointer, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        let streamID = stream.id
        if stream.queuedBytes == 0 && !stream.localEnded {
            stream.deferred = true
            return Int(NGHTTP2_ERR_DEFERRED.rawValue)
        }
        let count = min(length, stream.queuedBytes)
        if count > 0 { flags.pointee |= NGHTTP2_DATA_FLAG_NO_COPY.rawValue }
        if count == stream.queuedBytes && stream.localEnded {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            if let trailers = stream.trailers {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                self.headerBlock.reset()
                self.headerBlock.append(trailers)
                let rv = self.headerBlock.submit { nva, count in
                    nghttp2_submit_trailer(session, streamID, nva, count)
                }
                if rv != 0 { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
            }
        }
        return count
    }
}
