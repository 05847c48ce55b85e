import MeshHTTP2
import NIOCore
import NIOHTTP1
/// One header line of a request.
public struct HeaderField: Sendable, Hashable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// Parses `-H 'name: value'` (curl's syntax).
    public init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":") else {
            throw LoadInputError("header \"\(text)\" is not NAME: VALUE")
        }
        self.name = text[..<colon].trimmingSpaces()
        self.value = text[text.index(after: colon)...].trimmingSpaces()
        try validate()
    }

    /// RFC 9110 token for the name; no control characters (CR, LF, NUL) in the value.
    public func validate() throws {
        guard !name.isEmpty, name.utf8.allSatisfy(Self.isTokenByte) else {
            throw LoadInputError("invalid header name \"\(name)\"")
        }
        guard value.utf8.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else {
            throw LoadInputError("header \(name) has a control character in its value")
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

/// A kind of request in a run: its own method, path, headers and body, a relative weight in the
/// mix, and optionally the destination shares its answers should show.
public struct RequestClass: Sendable, Hashable {
    public var name: String
    /// Relative frequency: a class of weight 10 beside one of 90 gets every 10th request of 100.
    public var weight: Int
    public var method: String
    public var path: String
    /// Sent after the run's common headers; a `host` header here sets this class's authority.
    public var headers: [HeaderField]
    public var bodyBytes: Int
    /// Explicit expectation; when nil, the run's `--expect` or the configs' explanation applies.
    public var expected: ExpectedShares?

    public init(
        name: String = "default", weight: Int = 1, method: String = "GET", path: String = "/",
        headers: [HeaderField] = [], bodyBytes: Int = 0, expected: ExpectedShares? = nil
    ) {
        self.name = name
        self.weight = weight
        self.method = method
        self.path = path
        self.headers = headers
        self.bodyBytes = bodyBytes
        self.expected = expected
    }

    /// The value of this class's `host` header, if it sets one.
    public var hostHeader: String? {
        headers.last { $0.name.lowercased() == "host" }?.value
    }

    public func validate() throws {
        guard !name.isEmpty else { throw LoadInputError("a request class needs a name") }
        guard weight >= 1 else { throw LoadInputError("request class \(name): weight must be at least 1, not \(weight)") }
        guard !method.isEmpty, method.utf8.allSatisfy(HeaderField.isTokenByte) else {
            throw LoadInputError("request class \(name): invalid method \"\(method)\"")
        }
        guard path.first == "/" || path == "*", path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw LoadInputError("request class \(name): path \"\(path)\" must start with / and hold no spaces or non-ASCII characters")
        }
        guard bodyBytes >= 0, bodyBytes <= 64 << 20 else {
            throw LoadInputError("request class \(name): body bytes must be between 0 and 64 MiB")
        }
        for header in headers {
            do { try header.validate() } catch let error as LoadInputError {
                throw LoadInputError("request class \(name): \(error.message)")
            }
            let lower = header.name.lowercased()
            if ["content-length", "transfer-encoding", "connection"].contains(lower) {
                throw LoadInputError("request class \(name): header \(header.name) is set by meshsim load itself")
            }
        }
    }

    /// The request as HTTP/2 sends it (built once): pseudo-headers, lower-case fields, and the
    /// body (nil when empty).
    func http2Request(authority: String, commonHeaders: [HeaderField], grpc: Bool = false) -> HTTP2LoadRequest {
        if grpc { return grpcRequest(authority: authority, commonHeaders: commonHeaders) }
        let ownNames = Set(headers.map { $0.name.lowercased() })
        var fields = HTTPHeaders()
        for header in commonHeaders where !ownNames.contains(header.name.lowercased()) && header.name.lowercased() != "host" {
            fields.add(name: header.name.lowercased(), value: header.value)
        }
        for header in headers where header.name.lowercased() != "host" {
            fields.add(name: header.name.lowercased(), value: header.value)
        }
        if bodyBytes > 0 || ["POST", "PUT", "PATCH"].contains(method) {
            fields.add(name: "content-length", value: String(bodyBytes))
        }
        let head = HTTP2RequestHead(method: method, authority: hostHeader ?? authority, path: path, headers: fields)
        let body = bodyBytes > 0 ? ByteBuffer(repeating: UInt8(ascii: "x"), count: bodyBytes) : nil
        return HTTP2LoadRequest(head: head, body: body)
    }

    /// A gRPC call as a gRPC client sends it: POST, `content-type: application/grpc`,
    /// `te: trailers`, and one message (its 5-byte prefix, then `bodyBytes` bytes) as the body.
    private func grpcRequest(authority: String, commonHeaders: [HeaderField]) -> HTTP2LoadRequest {
        var fields: HTTPHeaders = ["content-type": "application/grpc", "te": "trailers"]
        let ownNames = Set(headers.map { $0.name.lowercased() })
        let reserved: Set<String> = ["host", "content-type", "te", "content-length"]
        for header in commonHeaders where !ownNames.contains(header.name.lowercased()) && !reserved.contains(header.name.lowercased()) {
            fields.add(name: header.name.lowercased(), value: header.value)
        }
        for header in headers where !reserved.contains(header.name.lowercased()) {
            fields.add(name: header.name.lowercased(), value: header.value)
        }
        var body = ByteBuffer()
        body.writeInteger(UInt8(0))
        body.writeInteger(UInt32(bodyBytes))
        body.writeRepeatingByte(UInt8(ascii: "x"), count: bodyBytes)
        let head = HTTP2RequestHead(method: "POST", authority: hostHeader ?? authority, path: path, headers: fields)
        return HTTP2LoadRequest(head: head, body: body)
    }

    /// The request's wire bytes, built once: the hot path writes the same buffer again and again.
    func encoded(authority: String, commonHeaders: [HeaderField]) -> [UInt8] {
        var text = "\(method) \(path) HTTP/1.1\r\n"
        let ownNames = Set(headers.map { $0.name.lowercased() })
        text += "Host: \(hostHeader ?? authority)\r\n"
        for header in commonHeaders where !ownNames.contains(header.name.lowercased()) && header.name.lowercased() != "host" {
            text += "\(header.name): \(header.value)\r\n"
        }
        for header in headers where header.name.lowercased() != "host" {
            text += "\(header.name): \(header.value)\r\n"
        }
        if bodyBytes > 0 || ["POST", "PUT", "PATCH"].contains(method) {
            text += "Content-Length: \(bodyBytes)\r\n"
        }
        text += "\r\n"
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: bodyBytes))
        return bytes
    }
}
