import Foundation
import MeshTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain blocking TCP client on 127.0.0.1, for sending exactly the bytes a test needs
/// (malformed requests, pipelining, slow headers) and reading exactly what comes back. Every
/// read is bounded by a receive timeout, so a test never hangs on a silent server.
final class RawConnection: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        /// The body's size, also when it was counted rather than kept.
        var bodyLength = 0
        var bodyText: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
    }

    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private(set) var isClosed = false

    init(port: Int, receiveTimeoutSeconds: Int = 20) throws {
        // The socket is stored only once connected. Stored earlier, a throw would find every
        // stored property set and run `deinit`, closing the number a second time after the
        // close below: by then another thread may have opened something under it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var timeout = timeval(tv_sec: receiveTimeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    /// Ends the connection both ways now (the descriptor itself closes with the object).
    func hangUp() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await offload { try self.sendBlocking(bytes) }
    }

    /// Everything until the server closes the connection.
    func readUntilClose() async throws -> [UInt8] {
        try await offload { try self.readUntilCloseBlocking() }
    }

    /// Exactly `count` bytes (after any response read before), or what came before the close.
    func read(count: Int) async throws -> [UInt8] {
        try await offload {
            while self.buffer.count < count { guard try self.fill() else { break } }
            let taken = Array(self.buffer.prefix(count))
            self.buffer.removeFirst(taken.count)
            return taken
        }
    }

    /// Whether the server closed the connection (EOF) within the receive timeout.
    func waitForClose() async -> Bool {
        (try? await offload { self.waitForCloseBlocking() }) ?? false
    }

    /// Reads one response: head, then a Content-Length, chunked, or (for `untilClose`) EOF body.
    /// With `keepBody: false` a Content-Length body is counted and dropped (large downloads).
    func readResponse(headRequest: Bool = false, keepBody: Bool = true) async throws -> Response {
        try await offload { try self.readResponseBlocking(headRequest: headRequest, keepBody: keepBody) }
    }

    private func offload<T>(_ work: @escaping () throws -> T) async throws -> T {
        try await onOwnThread(work)
    }

    private func sendBlocking(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += written
        }
    }

    /// Reads more bytes into the buffer; false on EOF or timeout.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer.append(contentsOf: chunk[0..<count])
            return true
        }
        if count == 0 { isClosed = true }
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { throw Failure(description: "receive timed out") }
        if count < 0 { isClosed = true }
        return false
    }

    private func readUntilCloseBlocking() throws -> [UInt8] {
        while try fill() {}
        defer { buffer.removeAll() }
        return buffer
    }

    private func waitForCloseBlocking() -> Bool {
        do {
            while try fill() {}
            return isClosed
        } catch {
            return false
        }
    }

    private func readResponseBlocking(headRequest: Bool, keepBody: Bool) throws -> Response {
        var headEnd: Int? = nil
        while headEnd == nil {
            headEnd = Self.find([13, 10, 13, 10], in: buffer)
            if headEnd == nil { guard try fill() else { throw Failure(description: "closed before a response head (\(buffer.count) bytes)") } }
        }
        let end = headEnd! + 4
        let headText = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        buffer.removeFirst(end)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { throw Failure(description: "bad status line \(statusLine)") }
        let headers: [(String, String)] = lines.compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = Response(status: status, headers: headers, body: [])
        if status == 100 || status == 101 || headRequest || status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init), !keepBody {
            var remaining = length
            while remaining > 0 {
                if buffer.isEmpty { guard try fill() else { throw Failure(description: "closed in body") } }
                let taken = min(remaining, buffer.count)
                buffer.removeFirst(taken)
                remaining -= taken
            }
            response.bodyLength = length
            return response
        } else if let length = response.header("content-length").flatMap(Int.init) {
            while buffer.count < length { guard try fill() else { throw Failure(description: "closed in body") } }
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else if response.header("transfer-encoding")?.lowercased() == "chunked" {
            response.body = try readChunkedBody()
        } else {
            response.body = try readUntilCloseBlocking()
        }
        response.bodyLength = response.body.count
        return response
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            var lineEnd = Self.find([13, 10], in: buffer)
            while lineEnd == nil {
                guard try fill() else { throw Failure(description: "closed in chunk size") }
                lineEnd = Self.find([13, 10], in: buffer)
            }
            let sizeText = String(decoding: buffer[0..<lineEnd!], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else { throw Failure(description: "bad chunk size") }
            buffer.removeFirst(lineEnd! + 2)
            while buffer.count < size + 2 { guard try fill() else { throw Failure(description: "closed in chunk") } }
            body += buffer[0..<size]
            buffer.removeFirst(size + 2)
            if size == 0 { return body }
        }
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return i }
        }
        return nil
    }
}

/// A listener on 127.0.0.1 that reads each request's first bytes and resets the connection
/// (SO_LINGER 0, so the close sends RST): an upstream that dies before answering.
final class ResettingServer: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32
    private let lock = NSLock()
    private var stopped = false
    private var accepted = 0
    /// Signalled when the serving thread leaves `accept` for good.
    private let served = DispatchSemaphore(value: 0)

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 16) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard ok else {
            close(descriptor)
            throw RawConnection.Failure(description: "cannot listen")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in serve() }.start()
    }

    var connectionsAccepted: Int { lock.lock(); defer { lock.unlock() }; return accepted }

    private func serve() {
        defer { served.signal() }
        while true {
            let client = accept(descriptor, nil, nil)
            lock.lock()
            let done = stopped
            if client >= 0 && !done { accepted += 1 }
            lock.unlock()
            if client < 0 || done {
                if client >= 0 { close(client) }
                return
            }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
            close(client)
        }
    }

    /// Stops accepting: the shutdown wakes the blocked `accept`, and the listener is closed
    /// only once the serving thread has left it. Any other order can touch a number the kernel
    /// has handed to another thread's socket meanwhile (a `shutdown` after the thread's own
    /// `close` cut other tests' connections), so if the thread does not end in time the
    /// listener is left open rather than closed under it.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        shutdown(descriptor, Int32(SHUT_RDWR))
        if served.wait(timeout: .now() + 10) == .success { close(descriptor) }
    }
}
