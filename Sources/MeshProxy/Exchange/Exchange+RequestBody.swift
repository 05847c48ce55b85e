import MeshConfig
import MeshHTTP2
import MeshRouting
import NIOCore
import NIOHTTP1

/// The request body from the downstream to the upstream: kept for a retry while it fits the
/// retry buffer, held while the upstream cannot take it (backpressure), and, for an HTTP/2
/// client, its flow-control window given back only once the bytes reached the upstream socket.
extension Exchange {
    func receiveBody(_ buffer: ByteBuffer) {
        guard !finished else { return }
        requestBodyBytes += buffer.readableBytes
        if requestProtocol == .grpc { requestMessages.count(buffer) }
        mirror?.sendBody(buffer)
        if replay != nil {
            if replayBytes + buffer.readableBytes <= worker.configuration.limits.retryBufferBytes {
                replay?.append(buffer)
                replayBytes += buffer.readableBytes
            } else {
                replay = nil
                replayBytes = 0
            }
        }
        if http2Downstream != nil { unconsumedBytes += buffer.readableBytes }
        if let upstream, pendingBody.isEmpty, upstream.isWritable {
            writeUpstreamBody(buffer, to: upstream)
            if http2Downstream != nil {
                upstream.flush()
            } else {
                upstreamNeedsFlush = true
            }
        } else {
            pendingBody.append(buffer)
            pendingBytes += buffer.readableBytes
            worker.stats.noteBufferedRequestBytes(pendingBytes)
        }
    }

    /// Writes request body upstream; for an HTTP/2 client, its windows open again once the
    /// bytes reached the upstream socket (so a slow upstream slows the client).
    func writeUpstreamBody(_ buffer: ByteBuffer, to upstream: any UpstreamTransport) {
        guard let stream = http2Downstream, unconsumedBytes > 0 else {
            upstream.write(.body(.byteBuffer(buffer)), promise: nil)
            return
        }
        let size = buffer.readableBytes
        let promise = worker.eventLoop.makePromise(of: Void.self)
        promise.futureResult.assumeIsolated().whenComplete { [self] _ in
            // Replayed bytes (a retry) were returned already: never return more than received.
            let returned = min(size, unconsumedBytes)
            unconsumedBytes -= returned
            stream._withUnsafeGuaranteedRef { $0.consume(returned) }
        }
        upstream.write(.body(.byteBuffer(buffer)), promise: promise)
    }

    func downstreamReadComplete() {
        if upstreamNeedsFlush, let upstream {
            upstreamNeedsFlush = false
            upstream.flush()
        }
    }

    /// Writes what waited for the upstream, then lets the downstream be read again.
    func drainPendingBody() {
        guard let upstream else { return }
        drainPendingBody(to: upstream)
    }

    /// `drainPendingBody()` to the current upstream, which the caller holds.
    func drainPendingBody(to upstream: any UpstreamTransport) {
        var index = 0
        while index < pendingBody.count {
            writeUpstreamBody(pendingBody[index], to: upstream)
            index += 1
        }
        // Tested first: emptying an empty array still checked its (shared) storage, a retain and a release.
        if !pendingBody.isEmpty { pendingBody.removeAll(keepingCapacity: true) }
        pendingBytes = 0
        if requestEnded && !upstreamRequestEnded {
            upstream.write(.end(requestTrailers), promise: nil)
            upstreamRequestEnded = true
        }
        if requestEnded || requestFraming != .none {
            upstream.flush()
            upstreamNeedsFlush = false
        } else {
            // A bodyless request whose end is still to be delivered (HTTP/1.1: the parser's next
            // event): its end flushes, so that an HTTP/2 pod gets one HEADERS frame with
            // END_STREAM, not HEADERS and then an empty DATA frame. The end of the read flushes
            // if it does not come.
            upstreamNeedsFlush = true
        }
        downstream.resumeReadingIfWanted()
    }
}
