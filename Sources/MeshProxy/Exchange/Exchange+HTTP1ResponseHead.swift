import MeshHTTP2
import NIOCore
import NIOHTTP1

/// The proxied response head for an HTTP/1.1 client, written in one pass (`upstreamResponseHead`
/// takes this way when nothing else edits the head).
extension Exchange {
    /// The upstream's head, passed on to the HTTP/1.1 client as `upstreamResponseHead` would edit
    /// and serialize it, written straight into the outbound buffer in one pass over the upstream's
    /// fields (`writesResponseHeadDirectly`): no fields removed from and appended to the
    /// `HeaderFields` first, then copied again.
    func sendHTTP1ResponseHead(status: Int, fields: borrowing HeaderFields, endsStream upstreamEndsStream: Bool, at now: NIODeadline) {
        let bodyless = head.method.isHEAD || (100..<200).contains(status) || status == 204 || status == 304
        var buffer = downstream.headBuffer(capacity: 512)
        ResponseSerializer.writeStatusLine(status: status, version: head.version, into: &buffer)
        let wantsGRPCStatus = requestProtocol == .grpc
        var grpcStatus: String?
        let serviceTime = upstreamServiceTime
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: fields.http1LineBytes + ownResponseLinesBound) { memory in
            var lines = HTTP1LineSink(memory)
            let upstreamHasLength = ForwardedHeaders.writeResponse(
                fields, into: &lines, serviceTime: serviceTime, dates: &worker.date, at: now, grpcStatus: &grpcStatus,
                wantsGRPCStatus: wantsGRPCStatus)
            addDebugHeaders(to: &lines)
            switch frameHTTP1Response(bodyless: bodyless, upstreamHasLength: upstreamHasLength, upstreamEndsStream: upstreamEndsStream) {
            case .contentLengthZero: lines.appendLine("content-length: 0\r\n")
            case .chunked: lines.appendLine("transfer-encoding: chunked\r\n")
            case nil: break
            }
            // As `addConnectionHeader` adds it: the upstream's own Connection fields are gone.
            if closeAfterResponse {
                lines.appendLine("connection: close\r\n")
            } else if head.version == .http1_0 {
                lines.appendLine("connection: keep-alive\r\n")
            }
            lines.appendLine("\r\n")
            return lines.count
        }
        if wantsGRPCStatus { self.grpcStatus = grpcStatus }
        responseStarted = true
        responseCode = status
        downstream.write(buffer)
    }

    /// A bound on the bytes of the lines `sendHTTP1ResponseHead` adds to the upstream's: `te`,
    /// `server`, `date`, `x-envoy-upstream-service-time`, a framing and a connection field, the
    /// empty line, and the debug fields when they are on.
    private var ownResponseLinesBound: Int {
        var bound = 256 + ServerHeader.value.utf8.count
        if worker.configuration.debugHeaders {
            bound += 64 + (route?.headerValue.utf8.count ?? 0) + (forward?.cluster.destinationHeaderValue.utf8.count ?? 0)
        }
        return bound
    }
}
