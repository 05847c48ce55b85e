import NIOCore
import NIOHTTP1

/// A pod's identity and profile with the answers it gives most, rendered to bytes once, so
/// that answering a request copies nothing: the same buffer is written again and again.
final class PodBehavior: Sendable {
    let identity: BackendIdentity
    let profile: BehaviorProfile
    /// `x-meshsim-workload`, `x-meshsim-version` and `x-meshsim-pod` lines, for dynamic answers.
    let identityHeaderLines: ByteBuffer
    let ok: PreparedResponse
    let injectedError: PreparedResponse
    let overloaded: PreparedResponse
    /// The body of the greeting (`ok`), for answers rendered per stream (HTTP/2, gRPC).
    let greetingBytes: [UInt8]
    /// The same answers for HTTP/2 and gRPC, as byte fields and buffers.
    let http2: HTTP2Answers

    init(identity: BackendIdentity, profile: BehaviorProfile) {
        self.identity = identity
        self.profile = profile
        let allocator = ByteBufferAllocator()
        var lines = allocator.buffer(capacity: 128)
        lines.writeString("x-meshsim-workload: \(Self.headerSafe(identity.workload))\r\n")
        lines.writeString("x-meshsim-version: \(Self.headerSafe(identity.version))\r\n")
        lines.writeString("x-meshsim-pod: \(Self.headerSafe(identity.pod))\r\n")
        identityHeaderLines = lines

        let greeting = "workload=\(identity.workload) version=\(identity.version) pod=\(identity.pod) namespace=\(identity.namespace)\n"
        var body = Array(greeting.utf8)
        if let size = profile.bodyBytes {
            // Exactly `size` bytes: the greeting repeated and cut, so any slice still says who answered.
            var sized: [UInt8] = []
            sized.reserveCapacity(size)
            while sized.count < size { sized.append(contentsOf: body.prefix(size - sized.count)) }
            body = sized
        }
        greetingBytes = body
        http2 = HTTP2Answers(identity: identity, profile: profile, greeting: body, allocator: allocator)
        ok = PreparedResponse(status: .ok, identityHeaderLines: lines, body: body, allocator: allocator)
        injectedError = PreparedResponse(
            status: HTTPResponseStatus(statusCode: profile.errorCode), identityHeaderLines: lines,
            extraHeaders: "x-meshsim-fault: error-rate\r\n",
            body: Array("injected error \(profile.errorCode) from pod \(identity.pod)\n".utf8), allocator: allocator)
        overloaded = PreparedResponse(
            status: .serviceUnavailable, identityHeaderLines: lines, extraHeaders: "x-meshsim-fault: max-concurrency\r\n",
            body: Array("pod \(identity.pod) is over its max-concurrency of \(profile.maxConcurrency ?? 0)\n".utf8),
            allocator: allocator)
    }

    /// Header values from labels or the command line, with control characters replaced so that
    /// no name can split a header.
    static func headerSafe(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "_" : $0 }))
    }
}

/// One answer rendered twice (for `connection: keep-alive` and `connection: close`), each with
/// the length of its head so that HEAD gets the same head without the body.
struct PreparedResponse: Sendable {
    private let keepAliveBytes: ByteBuffer
    private let keepAliveHeadLength: Int
    private let closeBytes: ByteBuffer
    private let closeHeadLength: Int

    init(
        status: HTTPResponseStatus, identityHeaderLines: ByteBuffer, extraHeaders: String = "",
        contentType: String = "text/plain; charset=utf-8", body: [UInt8], allocator: ByteBufferAllocator
    ) {
        func render(keepAlive: Bool) -> (ByteBuffer, Int) {
            var buffer = allocator.buffer(capacity: 256 + body.count)
            ResponseWriter.writeHead(
                into: &buffer, status: status, identityHeaderLines: identityHeaderLines, extraHeaders: extraHeaders,
                contentType: contentType, bodyLength: body.count, keepAlive: keepAlive)
            let headLength = buffer.readableBytes
            if ResponseWriter.allowsBody(status) { buffer.writeBytes(body) }
            return (buffer, headLength)
        }
        (keepAliveBytes, keepAliveHeadLength) = render(keepAlive: true)
        (closeBytes, closeHeadLength) = render(keepAlive: false)
    }

    func bytes(keepAlive: Bool, headOnly: Bool) -> ByteBuffer {
        let bytes = keepAlive ? keepAliveBytes : closeBytes
        guard headOnly else { return bytes }
        // A slice shares the storage: no copy.
        return bytes.getSlice(at: bytes.readerIndex, length: keepAlive ? keepAliveHeadLength : closeHeadLength) ?? bytes
    }
}

/// Renders HTTP/1.1 response heads and dynamic answers (status, echo, 400) straight to bytes.
enum ResponseWriter {
    static let continueHead: ByteBuffer = {
        var buffer = ByteBufferAllocator().buffer(capacity: 25)
        buffer.writeStaticString("HTTP/1.1 100 Continue\r\n\r\n")
        return buffer
    }()

    /// 1xx, 204 and 304 answers carry no body (RFC 9110 §6.4.1).
    static func allowsBody(_ status: HTTPResponseStatus) -> Bool {
        let code = status.code
        return code >= 200 && code != 204 && code != 304
    }

    static func writeHead(
        into buffer: inout ByteBuffer, status: HTTPResponseStatus, identityHeaderLines: ByteBuffer, extraHeaders: String,
        contentType: String, bodyLength: Int, keepAlive: Bool
    ) {
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(status.code))
        buffer.writeStaticString(" ")
        buffer.writeString(status.reasonPhrase.isEmpty ? "Status" : status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        if allowsBody(status) {
            buffer.writeStaticString("content-type: ")
            buffer.writeString(contentType)
            buffer.writeStaticString("\r\ncontent-length: ")
            buffer.writeString(String(bodyLength))
            buffer.writeStaticString("\r\n")
        }
        buffer.writeImmutableBuffer(identityHeaderLines)
        buffer.writeString(extraHeaders)
        buffer.writeStaticString(keepAlive ? "connection: keep-alive\r\n\r\n" : "connection: close\r\n\r\n")
    }

    /// A response rendered for this request only (status pages, echo, errors).
    static func render(
        status: HTTPResponseStatus, behavior: PodBehavior, contentType: String = "text/plain; charset=utf-8",
        extraHeaders: String = "", body: String, keepAlive: Bool, headOnly: Bool, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 256 + body.utf8.count)
        writeHead(
            into: &buffer, status: status, identityHeaderLines: behavior.identityHeaderLines, extraHeaders: extraHeaders,
            contentType: contentType, bodyLength: body.utf8.count, keepAlive: keepAlive)
        if !headOnly && allowsBody(status) { buffer.writeString(body) }
        return buffer
    }

    /// The JSON body of `/echo`: what the pod saw of the request.
    static func echoJSON(head: HTTPRequestHead, bodyBytes: Int, identity: BackendIdentity) -> String {
        var json = "{\"method\":"
        appendJSONString(head.method.rawValue, to: &json)
        json += ",\"path\":"
        appendJSONString(head.uri, to: &json)
        json += ",\"httpVersion\":"
        appendJSONString("HTTP/\(head.version.major).\(head.version.minor)", to: &json)
        json += ",\"headers\":{"
        // Repeated fields are joined with ", " (RFC 9110 §5.3); names are lower-cased.
        var order: [String] = []
        var values: [String: String] = [:]
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if let existing = values[lower] {
                values[lower] = existing + ", " + value
            } else {
                order.append(lower)
                values[lower] = value
            }
        }
        for (i, name) in order.enumerated() {
            if i > 0 { json += "," }
            appendJSONString(name, to: &json)
            json += ":"
            appendJSONString(values[name] ?? "", to: &json)
        }
        json += "},\"bodyBytes\":\(bodyBytes),\"workload\":"
        appendJSONString(identity.workload, to: &json)
        json += ",\"version\":"
        appendJSONString(identity.version, to: &json)
        json += ",\"pod\":"
        appendJSONString(identity.pod, to: &json)
        json += ",\"namespace\":"
        appendJSONString(identity.namespace, to: &json)
        json += "}\n"
        return json
    }

    static func appendJSONString(_ value: String, to json: inout String) {
        json += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    json += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    json.unicodeScalars.append(scalar)
                }
            }
        }
        json += "\""
    }
}
