import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client on a thread of its own that sends GET requests back to back until stopped:
/// `keepAliveRequests` on one connection, then a new connection, and so on, so that it uses both
/// kept-alive and fresh connections. It records every outcome; a failure (error, early close,
/// timeout) is recorded, never retried. Bounded by `maxRequests` and `maxSeconds`.
final class ContinuousClient: @unchecked Sendable {
    struct Outcome: Hashable {
        var status: Int
        var version: String?
    }

    private let port: Int
    private let host: String
    private let keepAliveRequests: Int
    private let lock = NSLock()
    private var stopRequested = false
    private var finished = false
    private var outcomes: [Outcome: Int] = [:]
    private var failureList: [String] = []
    private var completed = 0
    private var connections = 0

    init(port: Int, host: String, keepAliveRequests: Int = 10, maxRequests: Int = 200_000, maxSeconds: Double = 120) {
        self.port = port
        self.host = host
        self.keepAliveRequests = keepAliveRequests
        let thread = Thread { [self] in
            run(maxRequests: maxRequests, deadline: Date().addingTimeInterval(maxSeconds))
        }
        thread.start()
    }

    var requestsCompleted: Int { locked { completed } }
    var connectionsOpened: Int { locked { connections } }
    var counts: [Outcome: Int] { locked { outcomes } }
    var failures: [String] { locked { failureList } }
    var isFinished: Bool { locked { finished } }

    /// Asks the thread to stop after the request in progress.
    func stop() { locked { stopRequested = true } }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private func run(maxRequests: Int, deadline: Date) {
        defer { locked { finished = true } }
        var socket: Int32 = -1
        var sentOnConnection = 0
        var buffer: [UInt8] = []
        let request = Array("GET / HTTP/1.1\r\nHost: \(host)\r\n\r\n".utf8)
        defer { if socket >= 0 { close(socket) } }
        for _ in 0..<maxRequests {
            if locked({ stopRequested }) || Date() > deadline { return }
            if socket < 0 || sentOnConnection == keepAliveRequests {
                if socket >= 0 { close(socket) }
                socket = Self.connect(port: port)
                sentOnConnection = 0
                buffer.removeAll()
                guard socket >= 0 else {
                    locked { failureList.append("connect failed: errno \(errno)") }
                    return
                }
                locked { connections += 1 }
            }
            sentOnConnection += 1
            let sent = request.withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == request.count else {
                locked { failureList.append("send failed on request \(sentOnConnection) of a connection: errno \(errno)") }
                return
            }
            switch Self.readResponse(socket, &buffer) {
            case .success(let outcome):
                locked {
                    outcomes[outcome, default: 0] += 1
                    completed += 1
                }
            case .failure(let failure):
                locked { failureList.append("request \(sentOnConnection) of a connection: \(failure.description)") }
                return
            }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private static func connect(port: Int) -> Int32 {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 {
            close(fd)
            return -1
        }
        return fd
    }

    /// One response with a Content-Length body (what the proxy sends for the simulated pods).
    private static func readResponse(_ fd: Int32, _ buffer: inout [UInt8]) -> Result<Outcome, Failure> {
        func fill() -> Failure? {
            var chunk = [UInt8](repeating: 0, count: 16384)
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                return nil
            }
            return Failure(description: count == 0 ? "connection closed by the proxy" : "receive failed: errno \(errno)")
        }
        var headEnd: Int? = nil
        while headEnd == nil {
            headEnd = RawConnection.find([13, 10, 13, 10], in: buffer)
            if headEnd == nil, let failure = fill() { return .failure(failure) }
        }
        guard let end = headEnd else { return .failure(Failure(description: "no head")) }
        let head = String(decoding: buffer[0..<end], as: UTF8.self)
        buffer.removeFirst(end + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, let status = Int(parts[1]) else { return .failure(Failure(description: "bad status line \(statusLine)")) }
        var length = 0
        var version: String? = nil
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { length = Int(value) ?? 0 }
            if name == "x-meshsim-version" { version = value }
        }
        while buffer.count < length {
            if let failure = fill() { return .failure(failure) }
        }
        buffer.removeFirst(length)
        return .success(Outcome(status: status, version: version))
    }
}
