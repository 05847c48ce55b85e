import Foundation
import NIOCore
import NIOHTTP1

/// The server side of RFC 6455's opening handshake (§4.2) read from an HTTP/1.1 request head.
enum WebSocketHandshake: Equatable {
    /// A valid handshake; `acceptValue` is the `Sec-WebSocket-Accept` to answer with.
    case accept(acceptValue: String)
    /// A WebSocket request the pod cannot accept, answered `status` (then the connection closes).
    case reject(status: HTTPResponseStatus, body: String, extraHeaders: String)

    /// The only protocol version RFC 6455 defines (§4.1).
    static let supportedVersion = "13"
    /// Appended to the client's key before hashing (RFC 6455 §1.3).
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Reads the handshake of a request that asks for a WebSocket (`Connection` lists `upgrade`
    /// and `Upgrade` lists `websocket`); nil for any other request.
    init?(_ head: HTTPRequestHead) {
        // Runs on every request: the allocation-free test that rules out nearly all of them first.
        guard head.headers.contains(name: "upgrade"),
            Self.listsToken("upgrade", in: head.headers, name: "connection"),
            Self.listsToken("websocket", in: head.headers, name: "upgrade")
        else { return nil }
        // §4.2.1: a GET of HTTP/1.1 or later, with Sec-WebSocket-Version and Sec-WebSocket-Key.
        guard head.method == .GET else {
            self = .reject(status: .badRequest, body: "a WebSocket handshake is a GET request\n", extraHeaders: "")
            return
        }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            self = .reject(status: .badRequest, body: "a WebSocket handshake needs HTTP/1.1\n", extraHeaders: "")
            return
        }
        let versions = head.headers[canonicalForm: "sec-websocket-version"]
        guard !versions.isEmpty else {
            self = .reject(status: .badRequest, body: "the WebSocket handshake has no Sec-WebSocket-Version\n", extraHeaders: "")
            return
        }
        // §4.2.2: a version the server does not speak is answered 426 naming the ones it does.
        guard versions.count == 1, versions[0] == Self.supportedVersion[...] else {
            self = .reject(
                status: .upgradeRequired, body: "this pod speaks WebSocket version 13 only\n",
                extraHeaders: "sec-websocket-version: \(Self.supportedVersion)\r\n")
            return
        }
        let keys = head.headers["sec-websocket-key"]
        guard keys.count == 1, let key = keys.first.map({ $0.trimmingCharacters(in: .whitespaces) }), Self.isValidKey(key) else {
            self = .reject(
                status: .badRequest, body: "the WebSocket handshake needs one Sec-WebSocket-Key: 16 bytes in base64\n",
                extraHeaders: "")
            return
        }
        self = .accept(acceptValue: Self.acceptValue(forKey: key))
    }

    /// `base64(SHA-1(key + GUID))` (RFC 6455 §4.2.2, step 5.4).
    static func acceptValue(forKey key: String) -> String {
        Data(SHA1.hash(Array((key + acceptGUID).utf8))).base64EncodedString()
    }

    /// The key is a random 16-byte value in base64 (§4.1): exactly 24 characters.
    static func isValidKey(_ key: String) -> Bool {
        key.utf8.count == 24 && Data(base64Encoded: key)?.count == 16
    }

    /// Whether NIO's request decoder stops parsing after this request: llhttp treats a request as
    /// an upgrade when it has an `Upgrade` header and `Connection` lists `upgrade` (whatever the
    /// protocol), or is a CONNECT; the bytes after it are left for the next protocol, so such a
    /// request is the last one its connection can answer in HTTP/1.1.
    static func stopsHTTPParsing(_ head: HTTPRequestHead) -> Bool {
        head.method == .CONNECT
            || (head.headers.contains(name: "upgrade") && listsToken("upgrade", in: head.headers, name: "connection"))
    }

    /// Whether the comma-separated values of header `name` include `token`, ignoring case.
    private static func listsToken(_ token: String, in headers: HTTPHeaders, name: String) -> Bool {
        headers[canonicalForm: name].contains { $0.lowercased() == token }
    }

    /// The `101 Switching Protocols` answer: the upgrade, the accept value, the pod's identity.
    static func switchingProtocolsResponse(acceptValue: String, behavior: PodBehavior, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256)
        buffer.writeStaticString("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-accept: ")
        buffer.writeString(acceptValue)
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(behavior.identityHeaderLines)
        buffer.writeStaticString("\r\n")
        return buffer
    }
}
