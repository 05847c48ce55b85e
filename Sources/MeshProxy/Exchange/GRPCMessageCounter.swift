import NIOCore

/// Counts the gRPC messages of a body as it streams past: each is a 5-byte prefix (a compressed
/// flag and a big-endian 32-bit length) and then that many bytes. Envoy's grpc_stats filter
/// counts them the same way for Istio's `istio_request_messages_total` and
/// `istio_response_messages_total`; a message is counted when its prefix begins.
struct GRPCMessageCounter {
    private(set) var messages = 0
    /// Payload bytes of the current message still to come.
    private var payloadLeft = 0
    /// Prefix bytes of the next message seen so far (0 to 4), and its length as read so far.
    private var prefixSeen = 0
    private var length = 0

    mutating func count(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                if payloadLeft > 0 {
                    let skipped = min(payloadLeft, bytes.count - index)
                    payloadLeft -= skipped
                    index += skipped
                    continue
                }
                if prefixSeen == 0 {
                    messages += 1
                    length = 0
                } else {
                    // Bytes 1 to 4 of the prefix: the length, most significant first.
                    length = length << 8 | Int(bytes[index])
                }
                prefixSeen += 1
                index += 1
                if prefixSeen == 5 {
                    prefixSeen = 0
                    payloadLeft = length
                }
            }
        }
    }
}
