import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A bound, never listening socket on 127.0.0.1: connects to its port are refused at once, and
/// while it lives no other test's server can be handed the port.
public final class RefusingPort: @unchecked Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let port: Int
    private let descriptor: Int32

    public init() throws {
        // The socket is stored only once it is bound: a throw before every stored property is
        // set runs no deinit, so the explicit close below is the only one.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        let bound = bindToLoopback(fd)
        guard let bound else {
            let code = errno
            close(fd)
            throw Failure(description: "bind failed: errno \(code)")
        }
        descriptor = fd
        port = bound
    }

    deinit { close(descriptor) }
}

/// Binds `fd` to 127.0.0.1 on a port the kernel picks; returns the port, or nil (errno set).
public func bindToLoopback(_ fd: Int32) -> Int? {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
}
