#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A deliberately small HTTP/1.1 keep-alive client on blocking sockets and `poll`, run on the
/// benchmark's own thread: a closed loop of one request in flight per connection, the same
/// request bytes written every time, and only the status line and `content-length` of each
/// response read (bodies are skipped where they lie in the read buffer). It is written to
/// allocate nothing per request, so that the process-wide malloc count is the proxy's and the
/// pods'.
struct KeepAliveConnections: Sendable {
    let descriptors: [Int32]

    /// Opens `count` TCP connections to `host:port` (an IPv4 literal) with TCP_NODELAY.
    static func open(host: String, port: Int, count: Int) throws -> KeepAliveConnections {
        var descriptors: [Int32] = []
        do {
            for _ in 0..<count {
                descriptors.append(try connectSocket(host: host, port: port))
            }
        } catch {
            for descriptor in descriptors { _ = close(descriptor) }
            throw error
        }
        return KeepAliveConnections(descriptors: descriptors)
    }

    func closeAll() {
        for descriptor in descriptors { _ = close(descriptor) }
    }

    /// Sends `request` on a connection of its own and returns the response head (status line and
    /// header lines) as text, waiting at most `timeoutSeconds` for each read: the setup's check.
    static func responseHead(to request: String, host: String, port: Int, timeoutSeconds: Int32 = 10) throws -> String {
        let descriptor = try connectSocket(host: host, port: port)
        defer { _ = close(descriptor) }
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw KeepAliveClientError.system("send", errno)
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = received.indices.dropLast(3).first(where: { received[$0..<$0 + 4].elementsEqual("\r\n\r\n".utf8) }) {
                return String(decoding: received[..<end], as: UTF8.self)
            }
            guard received.count < 64 * 1024 else { throw KeepAliveClientError.malformedResponse("head longer than 64 KiB") }
            var pollSet = [pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&pollSet, 1, timeoutSeconds * 1000)
            if ready == 0 { throw KeepAliveClientError.timedOut(seconds: timeoutSeconds) }
            if ready < 0 {
                if errno == EINTR { continue }
                throw KeepAliveClientError.system("poll", errno)
            }
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw KeepAliveClientError.system("recv", errno)
            }
            if count == 0 { throw KeepAliveClientError.closedByPeer }
            received.append(contentsOf: chunk[..<count])
        }
    }

    private static func connectSocket(host: String, port: Int) throws -> Int32 {
        #if canImport(Glibc)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw KeepAliveClientError.system("socket", errno) }
        do {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(truncatingIfNeeded: port).bigEndian)
            guard host.withCString({ inet_pton(AF_INET, $0, &address.sin_addr) }) == 1 else {
                throw KeepAliveClientError.badAddress(host)
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else { throw KeepAliveClientError.system("connect to \(host):\(port)", errno) }
            var noDelay: Int32 = 1
            guard setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
                throw KeepAliveClientError.system("setsockopt(TCP_NODELAY)", errno)
            }
        } catch {
            _ = close(descriptor)
            throw error
        }
        return descriptor
    }
}

enum KeepAliveClientError: Error, CustomStringConvertible {
    case system(String, Int32)
    case badAddress(String)
    case timedOut(seconds: Int32)
    case closedByPeer
    case malformedResponse(String)

    var description: String {
        switch self {
        case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
        case .badAddress(let host): "not an IPv4 address: \(host)"
        case .timedOut(let seconds): "no response within \(seconds) s"
        case .closedByPeer: "the server closed a keep-alive connection"
        case .malformedResponse(let reason): "malformed response: \(reason)"
        }
    }
}

/// Drives `KeepAliveConnections` for one benchmark iteration. Make it before
/// `startMeasurement()`: it allocates its read buffers here, once. An iteration ends with every
/// response read to its last byte, so the connections are clean for the next driver.
final class KeepAliveDriver {
    /// One connection's unparsed bytes and where its current response stands.
    private struct Lane {
        let descriptor: Int32
        var start = 0
        var end = 0
        var inFlight = false
        /// The current response's status, once its head was read.
        var status = 0
        /// Body bytes of the current response still to skip; nil while reading a head.
        var bodyRemaining: Int? = nil
    }

    static let bufferSize = 64 * 1024
    /// Longest wait for any response before the iteration fails.
    static let timeoutSeconds: Int32 = 10

    private var lanes: [Lane]
    private var pollSet: [pollfd]
    private let buffers: UnsafeMutableRawBufferPointer
    private let request: [UInt8]

    init(connections: KeepAliveConnections, request: String) {
        lanes = connections.descriptors.map { Lane(descriptor: $0) }
        pollSet = connections.descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        buffers = .allocate(byteCount: Self.bufferSize * max(1, connections.descriptors.count), alignment: 16)
        self.request = Array(request.utf8)
    }

    deinit { buffers.deallocate() }

    struct Outcome {
        var responses = 0
        var non200 = 0
    }

    /// Sends `count` requests, at most one in flight per connection, and reads every answer.
    func run(requests count: Int) throws -> Outcome {
        var outcome = Outcome()
        var sent = 0
        for index in lanes.indices where sent < count {
            try sendRequest(on: index)
            sent += 1
        }
        while outcome.responses < count {
            let ready = poll(&pollSet, nfds_t(pollSet.count), Self.timeoutSeconds * 1000)
            if ready == 0 { throw KeepAliveClientError.timedOut(seconds: Self.timeoutSeconds) }
            if ready < 0 {
                if errno == EINTR { continue }
                throw KeepAliveClientError.system("poll", errno)
            }
            for index in pollSet.indices where pollSet[index].revents != 0 {
                pollSet[index].revents = 0
                guard let status = try receive(on: index) else { continue }
                outcome.responses += 1
                if status != 200 { outcome.non200 += 1 }
                if sent < count {
                    try sendRequest(on: index)
                    sent += 1
                }
            }
        }
        return outcome
    }

    private func sendRequest(on index: Int) throws {
        lanes[index].inFlight = true
        let descriptor = lanes[index].descriptor
        try request.withUnsafeBytes { bytes in
            guard let base = bytes.baseAddress else { return }
            var written = 0
            while written < bytes.count {
                let result = send(descriptor, base + written, bytes.count - written, Int32(MSG_NOSIGNAL))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw KeepAliveClientError.system("send", errno)
                }
                written += result
            }
        }
    }

    /// Reads what is there (poll said it would not block) and returns the status of the response
    /// this read completed, if it did (one request is in flight per connection, so at most one).
    private func receive(on index: Int) throws -> Int? {
        guard let buffersBase = buffers.baseAddress else { return nil }
        let base = buffersBase + index * Self.bufferSize
        var lane = lanes[index]
        defer { lanes[index] = lane }
        if lane.end == Self.bufferSize {
            guard lane.start > 0 else { throw KeepAliveClientError.malformedResponse("head longer than \(Self.bufferSize) bytes") }
            memmove(base, base + lane.start, lane.end - lane.start)
            lane.end -= lane.start
            lane.start = 0
        }
        var received: Int
        repeat {
            received = recv(lane.descriptor, base + lane.end, Self.bufferSize - lane.end, 0)
        } while received < 0 && errno == EINTR
        if received < 0 { throw KeepAliveClientError.system("recv", errno) }
        if received == 0 { throw KeepAliveClientError.closedByPeer }
        lane.end += received

        var completedStatus: Int?
        while true {
            let remaining: Int
            if let bodyRemaining = lane.bodyRemaining {
                remaining = bodyRemaining
            } else {
                guard let head = try Self.parseHead(base, from: lane.start, to: lane.end) else { break }
                guard lane.inFlight else { throw KeepAliveClientError.malformedResponse("a response nobody asked for") }
                lane.status = head.status
                lane.start = head.bodyStart
                remaining = head.contentLength
            }
            let skipped = min(remaining, lane.end - lane.start)
            lane.start += skipped
            guard skipped == remaining else {
                lane.bodyRemaining = remaining - skipped
                break
            }
            lane.bodyRemaining = nil
            lane.inFlight = false
            completedStatus = lane.status
        }
        if lane.start == lane.end {
            lane.start = 0
            lane.end = 0
        }
        return completedStatus
    }

    /// The status and content-length of a complete head in `base[from..<to]`, or nil when the head
    /// has not fully arrived.
    private static func parseHead(_ base: UnsafeMutableRawPointer, from start: Int, to end: Int) throws
        -> (status: Int, contentLength: Int, bodyStart: Int)?
    {
        let bytes = UnsafeRawBufferPointer(start: base + start, count: end - start)
        guard let headEnd = find(crlfcrlf, in: bytes) else { return nil }
        // "HTTP/1.1 200 OK\r\n"
        guard headEnd >= 12, bytes[8] == UInt8(ascii: " ") else {
            throw KeepAliveClientError.malformedResponse("status line")
        }
        var status = 0
        for offset in 9..<12 {
            let digit = Int(bytes[offset]) - Int(UInt8(ascii: "0"))
            guard (0...9).contains(digit) else { throw KeepAliveClientError.malformedResponse("status code") }
            status = status * 10 + digit
        }
        var contentLength: Int?
        var lineStart = (find(crlf, in: UnsafeRawBufferPointer(rebasing: bytes[..<headEnd])) ?? headEnd) + 2
        while lineStart < headEnd {
            let line = UnsafeRawBufferPointer(rebasing: bytes[lineStart..<headEnd])
            let lineLength = find(crlf, in: line) ?? line.count
            if lineLength > contentLengthName.count, hasPrefixIgnoringCase(line, contentLengthName) {
                var value = 0
                for byte in line[contentLengthName.count..<lineLength] where byte != UInt8(ascii: " ") && byte != UInt8(ascii: "\t") {
                    let digit = Int(byte) - Int(UInt8(ascii: "0"))
                    guard (0...9).contains(digit) else { throw KeepAliveClientError.malformedResponse("content-length") }
                    value = value * 10 + digit
                }
                contentLength = value
            }
            lineStart += lineLength + 2
        }
        guard let contentLength else {
            throw KeepAliveClientError.malformedResponse("no content-length (this client reads only length-delimited bodies)")
        }
        return (status, contentLength, start + headEnd + 4)
    }

    private static let crlf: [UInt8] = Array("\r\n".utf8)
    private static let crlfcrlf: [UInt8] = Array("\r\n\r\n".utf8)
    private static let contentLengthName: [UInt8] = Array("content-length:".utf8)

    /// Where `needle` first starts in `haystack` (memchr for its first byte, then a compare;
    /// Glibc's module does not export memmem).
    private static func find(_ needle: [UInt8], in haystack: UnsafeRawBufferPointer) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count, let base = haystack.baseAddress else { return nil }
        var offset = 0
        let lastStart = haystack.count - needle.count
        while offset <= lastStart {
            guard let found = memchr(base + offset, Int32(first), lastStart - offset + 1) else { return nil }
            offset = base.distance(to: UnsafeRawPointer(found))
            if needle.indices.allSatisfy({ haystack[offset + $0] == needle[$0] }) { return offset }
            offset += 1
        }
        return nil
    }

    private static func hasPrefixIgnoringCase(_ line: UnsafeRawBufferPointer, _ lowercasePrefix: [UInt8]) -> Bool {
        for (offset, expected) in lowercasePrefix.enumerated() {
            var byte = line[offset]
            if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") { byte += 32 }
            if byte != expected { return false }
        }
        return true
    }
}
