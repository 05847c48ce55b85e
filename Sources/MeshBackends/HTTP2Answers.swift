import MeshHTTP2
import NIOCore
import NIOHTTP1

/// One HTTP/2 answer rendered once: its status, its fields as bytes (sent through the byte-field
/// path, with no string per field) and its body. Sending it again copies nothing on this side:
/// the block borrows the fields and the body buffer is shared.
struct PreparedHTTP2Response: Sendable {
    let status: Int
    let fields: HeaderFields
    /// Empty when the status allows no body (then `fields` carry no content-type or -length).
    let body: ByteBuffer
}

/// A pod's HTTP/2 and gRPC answers, built with its `PodBehavior` (so a behaviour swapped at run
/// time, whose requests carry the new behaviour in their `Admission`, brings its own), and the
/// writer of the fields of the answers made per request (echo, status pages).
///
/// A class: a request reads its answers through its behaviour, and a copy of a struct of this
/// many buffers would retain and release each of them.
///
/// Fields keep the order and spelling the pod has always sent: identity (`x-meshsim-workload`,
/// `x-meshsim-version`, `x-meshsim-pod`), then `x-meshsim-fault` if any, then content-type and
/// content-length (HTTP) or content-type and the trailers-only status (gRPC).
final class HTTP2Answers: Sendable {
    /// The identity fields, values made header-safe.
    let identityFields: HeaderFields
    let ok: PreparedHTTP2Response
    let injectedError: PreparedHTTP2Response
    let overloaded: PreparedHTTP2Response
    /// A gRPC success's head (identity, `content-type: application/grpc`) and its one
    /// length-prefixed message; `grpc-status: 0` follows in trailers.
    let grpcOKFields: HeaderFields
    let grpcOKBody: ByteBuffer
    /// Trailers-only gRPC failures (HTTP 200, `grpc-status: 14`).
    let grpcInjectedError: HeaderFields
    let grpcOverloaded: HeaderFields

    static let grpcOKTrailers: HTTPHeaders = ["grpc-status": "0"]
    static let textPlain: StaticString = "text/plain; charset=utf-8"
    static let applicationJSON: StaticString = "application/json"

    init(identity: BackendIdentity, profile: BehaviorProfile, greeting: [UInt8], allocator: ByteBufferAllocator) {
        var identityFields = HeaderFields(byteCapacity: 96, fieldCapacity: 3)
        identityFields.append(name: "x-meshsim-workload", value: PodBehavior.headerSafe(identity.workload))
        identityFields.append(name: "x-meshsim-version", value: PodBehavior.headerSafe(identity.version))
        identityFields.append(name: "x-meshsim-pod", value: PodBehavior.headerSafe(identity.pod))
        self.identityFields = identityFields

        func prepared(status: Int, fault: StaticString?, body: [UInt8]) -> PreparedHTTP2Response {
            let fields = Self.fields(identity: identityFields, status: status, fault: fault, contentType: Self.textPlain, bodyLength: body.count)
            var buffer = allocator.buffer(capacity: body.count)
            if Self.allowsBody(status) { buffer.writeBytes(body) }
            return PreparedHTTP2Response(status: status, fields: fields, body: buffer)
        }
        ok = prepared(status: 200, fault: nil, body: greeting)
        injectedError = prepared(
            status: profile.errorCode, fault: "error-rate", body: Array("injected error \(profile.errorCode) from pod \(identity.pod)\n".utf8))
        overloaded = prepared(
            status: 503, fault: "max-concurrency",
            body: Array("pod \(identity.pod) is over its max-concurrency of \(profile.maxConcurrency ?? 0)\n".utf8))

        var grpcOKFields = Self.copy(identityFields, extraFields: 1, extraBytes: 32)
        grpcOKFields.append(name: "content-type", value: "application/grpc")
        self.grpcOKFields = grpcOKFields
        var message = allocator.buffer(capacity: 5 + greeting.count)
        message.writeInteger(UInt8(0))  // not compressed
        message.writeInteger(UInt32(greeting.count))
        message.writeBytes(greeting)
        grpcOKBody = message

        func grpcFailure(fault: String, message: String) -> HeaderFields {
            var fields = Self.copy(grpcOKFields, extraFields: 3, extraBytes: 64 + message.utf8.count)
            fields.append(name: "x-meshsim-fault", value: fault)
            fields.append(name: "grpc-status", value: String(GRPCStatus.unavailable))
            fields.append(name: "grpc-message", value: GRPCMessage.percentEncoded(message))
            return fields
        }
        grpcInjectedError = grpcFailure(fault: "error-rate", message: "injected error from pod \(identity.pod)")
        grpcOverloaded = grpcFailure(
            fault: "max-concurrency", message: "pod \(identity.pod) is over its max-concurrency of \(profile.maxConcurrency ?? 0)")
    }

    /// The fields of an HTTP answer: identity, the fault if any, and content-type and
    /// content-length when the status allows a body.
    static func fields(identity: HeaderFields, status: Int, fault: StaticString?, contentType: StaticString, bodyLength: Int) -> HeaderFields {
        var fields = copy(identity, extraFields: 3, extraBytes: 96)
        if let fault { fields.append(name: "x-meshsim-fault", staticValue: fault) }
        if allowsBody(status) {
            fields.append(name: "content-type", staticValue: contentType)
            fields.append(name: "content-length", decimal: bodyLength)
        }
        return fields
    }

    /// 1xx, 204 and 304 answers carry no body (RFC 9110 §6.4.1).
    static func allowsBody(_ status: Int) -> Bool {
        status >= 200 && status != 204 && status != 304
    }

    /// `fields` copied into storage sized for `extraFields` more fields and `extraBytes` more
    /// bytes, so that the appends after it do not grow it again.
    private static func copy(_ fields: HeaderFields, extraFields: Int, extraBytes: Int) -> HeaderFields {
        var copy = HeaderFields(byteCapacity: fields.http1LineBytes + extraBytes, fieldCapacity: fields.count + extraFields)
        for index in 0..<fields.count { copy.append(fields, at: index) }
        return copy
    }
}

extension HeaderFields {
    /// Appends a field whose name and value are literals (no string made).
    mutating func append(name: StaticString, staticValue value: StaticString) {
        append(
            name: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount),
            value: UnsafeRawBufferPointer(start: value.utf8Start, count: value.utf8CodeUnitCount))
    }
}
