import CNGHTTP2
import Foundation
import MeshTestSupport

/// One HTTP/2 frame as read off the wire.
struct RawFrame {
    var type: UInt8
    var flags: UInt8
    var streamID: Int32
    var payload: [UInt8]

    static let data: UInt8 = 0x0, headers: UInt8 = 0x1, rstStream: UInt8 = 0x3, settings: UInt8 = 0x4
    static let ping: UInt8 = 0x6, goAway: UInt8 = 0x7, windowUpdate: UInt8 = 0x8, continuation: UInt8 = 0x9

    var errorCode: UInt32? {
        switch self.type {
        case Self.rstStream where self.payload.count >= 4: return Self.uint32(self.payload, at: 0)
        case Self.goAway where self.payload.count >= 8: return Self.uint32(self.payload, at: 4)
        default: return nil
        }
    }

    static func uint32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<offset + 4].reduce(0) { ($0 << 8) | UInt32($1) }
    }
}

/// Builds frames by hand for the bad-input tests.
enum FrameBuilder {
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    static func frame(type: UInt8, flags: UInt8 = 0, stream: Int32 = 0, payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        var bytes: [UInt8] = [
            UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff), type, flags,
        ]
        bytes += withUnsafeBytes(of: UInt32(bitPattern: stream).bigEndian, Array.init)
        return bytes + payload
    }

    static func settings(_ entries: [(UInt16, UInt32)] = []) -> [UInt8] {
        var payload: [UInt8] = []
        for (id, value) in entries {
            payload += withUnsafeBytes(of: id.bigEndian, Array.init)
            payload += withUnsafeBytes(of: value.bigEndian, Array.init)
        }
        return frame(type: RawFrame.settings, payload: payload)
    }

    static func rstStream(_ stream: Int32, code: UInt32) -> [UInt8] {
        frame(type: RawFrame.rstStream, stream: stream, payload: withUnsafeBytes(of: code.bigEndian, Array.init))
    }

    static func ping(_ value: UInt64 = 0, ack: Bool = false) -> [UInt8] {
        frame(type: RawFrame.ping, flags: ack ? 1 : 0, payload: withUnsafeBytes(of: value.bigEndian, Array.init))
    }

    /// A GET of `path` using only static-table and literal-without-indexing fields, so the block
    /// is the same however many times it is sent (no HPACK state).
    static func simpleGetBlock(path: String = "/", authority: String = "localhost") -> [UInt8] {
        var block: [UInt8] = [0x82, 0x86]  // :method GET, :scheme http
        block += [0x04] + literal(path)  // :path (name index 4), not indexed
        block += [0x01] + literal(authority)  // :authority (name index 1), not indexed
        return block
    }

    /// A block carrying extra `name: value` fields as literals without indexing (new names).
    static func getBlock(path: String, extraHeaders: [(String, String)]) -> [UInt8] {
        var block = simpleGetBlock(path: path)
        for (name, value) in extraHeaders { block += [0x00] + literal(name) + literal(value) }
        return block
    }

    /// An HPACK string literal without Huffman coding (7-bit prefix integer length).
    static func literal(_ text: String) -> [UInt8] {
        let bytes = Array(text.utf8)
        return integer(bytes.count, prefixBits: 7) + bytes
    }

    static func integer(_ value: Int, prefixBits: Int) -> [UInt8] {
        let limit = (1 << prefixBits) - 1
        if value < limit { return [UInt8(value)] }
        var out: [UInt8] = [UInt8(limit)]
        var rest = value - limit
        while rest >= 128 {
            out.append(UInt8(rest % 128 + 128))
            rest /= 128
        }
        out.append(UInt8(rest))
        return out
    }

    /// HEADERS (+ CONTINUATION frames for blocks over `maxFrame`) for one header block.
    static func headers(stream: Int32, block: [UInt8], endStream: Bool, maxFrame: Int = 16384) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        var first = true
        repeat {
            let end = min(block.count, offset + maxFrame)
            let last = end == block.count
            let flags: UInt8 = (last ? 0x4 : 0) | (first && endStream ? 0x1 : 0)
            out += frame(
                type: first ? RawFrame.headers : RawFrame.continuation,
                flags: flags,
                stream: stream,
                payload: Array(block[offset..<end])
            )
            offset = end
            first = false
        } while offset < block.count
        return out
    }
}

/// A blocking TCP client for writing frames by hand; every read has a deadline.
final class RawHTTP2Connection {
    private let socket: Int32
    private var inbound: [UInt8] = []
    private(set) var closedByPeer = false
    private var inflater: OpaquePointer?

    init(port: Int) throws {
        // The socket is stored only once connected. Stored earlier, a throw would find every
        // stored property set and run `deinit`, closing the number a second time after the
        // close below: by then another thread may have opened something under it
        // (`waitUntilListening` fails here many times while a server starts).
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rv = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rv == 0 else {
            let code = errno
            close(fd)
            throw TestFailure("connect to port \(port) failed: errno \(code)")
        }
        self.socket = fd
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(self.socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        _ = nghttp2_hd_inflate_new(&self.inflater)
    }

    deinit {
        close(self.socket)
        if let inflater { nghttp2_hd_inflate_del(inflater) }
    }

    /// Writes everything unless the peer closes first (then returns false; no SIGPIPE).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes {
                Glibc.send(self.socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written <= 0 { return false }
            offset += written
        }
        return true
    }

    /// Preface and an empty SETTINGS, as every client starts.
    func handshake() {
        self.send(FrameBuilder.preface + FrameBuilder.settings())
    }

    /// Reads frames until `stop` returns true for one (returned), the peer closes, or the deadline.
    func readFrames(timeout: Duration = .seconds(10), until stop: (RawFrame) -> Bool) -> (
        frames: [RawFrame], match: RawFrame?
    ) {
        let deadline = ContinuousClock.now + timeout
        var frames: [RawFrame] = []
        while ContinuousClock.now < deadline {
            while let frame = self.nextBufferedFrame() {
                frames.append(frame)
                if stop(frame) { return (frames, frame) }
            }
            if self.closedByPeer { break }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = chunk.withUnsafeMutableBytes { recv(self.socket, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                self.closedByPeer = true
            } else if count > 0 {
                self.inbound += chunk[0..<count]
            } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                self.closedByPeer = true
            }
        }
        return (frames, nil)
    }

    private func nextBufferedFrame() -> RawFrame? {
        guard self.inbound.count >= 9 else { return nil }
        let length = (Int(self.inbound[0]) << 16) | (Int(self.inbound[1]) << 8) | Int(self.inbound[2])
        guard self.inbound.count >= 9 + length else { return nil }
        let stream = Int32(bitPattern: RawFrame.uint32(self.inbound, at: 5) & 0x7fff_ffff)
        let frame = RawFrame(
            type: self.inbound[3],
            flags: self.inbound[4],
            streamID: stream,
            payload: Array(self.inbound[9..<9 + length])
        )
        self.inbound.removeFirst(9 + length)
        return frame
    }

    /// Decodes a HEADERS payload (no padding or priority: the server sends neither) in order.
    func decodeHeaders(_ frame: RawFrame) -> [String: String] {
        guard let inflater else { return [:] }
        var fields: [String: String] = [:]
        var input = frame.payload
        input.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                var nv = nghttp2_nv()
                var flags: Int32 = 0
                guard let base = buffer.baseAddress else { return }
                let used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, base + offset, buffer.count - offset, 1)
                if used < 0 { return }
                offset += used
                if flags & Int32(NGHTTP2_HD_INFLATE_EMIT.rawValue) != 0 {
                    let name = String(decoding: UnsafeBufferPointer(start: nv.name, count: nv.namelen), as: UTF8.self)
                    fields[name] = String(
                        decoding: UnsafeBufferPointer(start: nv.value, count: nv.valuelen),
                        as: UTF8.self
                    )
                }
                if flags & Int32(NGHTTP2_HD_INFLATE_FINAL.rawValue) != 0 { break }
                if used == 0 && flags == 0 { break }
            }
            nghttp2_hd_inflate_end_headers(inflater)
        }
        return fields
    }

    /// Sends a GET on `stream` and waits for its response status (reading past other frames).
    func get(stream: Int32, path: String = "/") -> Int? {
        self.send(FrameBuilder.headers(stream: stream, block: FrameBuilder.simpleGetBlock(path: path), endStream: true))
        return self.awaitStatus(stream: stream)
    }

    func awaitStatus(stream: Int32) -> Int? {
        var status: Int?
        _ = self.readFrames { frame in
            if frame.type == RawFrame.headers {
                let fields = self.decodeHeaders(frame)
                if frame.streamID == stream, let value = fields[":status"] {
                    status = Int(value)
                    return true
                }
            }
            return frame.type == RawFrame.goAway || (frame.type == RawFrame.rstStream && frame.streamID == stream)
        }
        return status
    }
}

/// A port that was free a moment ago: bind 127.0.0.1:0, read the port, close. Callers that
/// hand it to another process must retry on a collision.
func reserveFreePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed") }
    defer { close(fd) }
    guard let port = bindToLoopback(fd) else { throw TestFailure("bind() failed: errno \(errno)") }
    return port
}

/// True once something accepts TCP connections on the port (bounded wait; it stops early once
/// `gaveUp` holds). It tries once more after the deadline: on a loaded machine this task can
/// sleep past the whole deadline between two tries, and a server that came up meanwhile must not
/// count as failed.
func waitUntilListening(port: Int, timeout: Duration = .seconds(10), unless gaveUp: () -> Bool = { false }) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline && !gaveUp() {
        if (try? RawHTTP2Connection(port: port)) != nil { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return (try? RawHTTP2Connection(port: port)) != nil
}
