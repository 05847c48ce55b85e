import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Musl)
private let systemWrite = Musl.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// Where access-log lines go: a file opened for appending, or standard output.
final class AccessLogSink: Sendable {
    private let descriptor: Int32
    private let ownsDescriptor: Bool

    struct OpenError: Error, CustomStringConvertible {
        var path: String
        var code: Int32
        var description: String { "cannot open access log \(path): \(String(cString: strerror(code)))" }
    }

    init(standardOutput: Void) {
        descriptor = 1
        ownsDescriptor = false
    }

    init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OpenError(path: path, code: errno) }
        descriptor = fd
        ownsDescriptor = true
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    /// Writes whole lines in one call each, so lines of different loops never interleave.
    func write(_ bytes: ByteBuffer) {
        bytes.withUnsafeReadableBytes { raw in
            var offset = 0
            while offset < raw.count {
                guard let base = raw.baseAddress else { return }
                let written = systemWrite(descriptor, base + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }
}

/// One event loop's access-log buffer, written out when it grows or a moment after the first
/// line, so that logging costs no syscall per request.
final class AccessLogWriter {
    private let sink: AccessLogSink
    private let eventLoop: EventLoop
    private var buffer: ByteBuffer
    private var flushScheduled = false

    init(sink: AccessLogSink, eventLoop: EventLoop) {
        self.sink = sink
        self.eventLoop = eventLoop
        self.buffer = ByteBufferAllocator().buffer(capacity: 16 * 1024)
    }

    /// Envoy's default format:
    /// `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
    /// %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%
    /// "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"`
    func log(_ entry: AccessLogEntry) {
        func field(_ value: String?) -> String { value.map { $0.isEmpty ? "-" : $0 } ?? "-" }
        buffer.writeString("[\(HTTPDateCache.accessLogTimestamp(epochNanoseconds: entry.startEpochNanoseconds))] \"")
        buffer.writeString("\(entry.method) \(entry.path) \(entry.protocolName)\" \(entry.responseCode) \(entry.flags) ")
        buffer.writeString("\(entry.bytesReceived) \(entry.bytesSent) \(entry.durationMilliseconds) \(field(entry.upstreamServiceTime.map(String.init))) ")
        buffer.writeString("\"\(field(entry.forwardedFor))\" \"\(field(entry.userAgent))\" \"\(field(entry.requestID))\" \"\(field(entry.authority))\" \"\(field(entry.upstreamHost))\"\n")
        if buffer.readableBytes >= 16 * 1024 {
            flush()
        } else if !flushScheduled {
            flushScheduled = true
            eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(100)) { self.flush() }
        }
    }

    func flush() {
        flushScheduled = false
        guard buffer.readableBytes > 0 else { return }
        sink.write(buffer)
        buffer.clear()
    }
}

struct AccessLogEntry {
    var startEpochNanoseconds: Int64
    var method: String
    var path: String
    var protocolName: String
    var responseCode: Int
    var flags: ResponseFlags
    var bytesReceived: Int
    var bytesSent: Int
    var durationMilliseconds: Int
    var upstreamServiceTime: Int?
    var forwardedFor: String?
    var userAgent: String?
    var requestID: String?
    var authority: String?
    var upstreamHost: String?
}
