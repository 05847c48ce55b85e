/// gRPC over HTTP/2 details shared by the simulated pods and the proxy.
public enum GRPCMessage {
    /// `grpc-message` is percent-encoded outside printable ASCII, and `%` itself
    /// (gRPC's PROTOCOL-HTTP2 document).
    public static func percentEncoded(_ message: String) -> String {
        var encoded = ""
        for byte in message.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return encoded
    }
}
