import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A thread that keeps opening a descriptor (the kernel hands out the lowest free number, so it
/// takes any number another thread just closed) and checks that it stays open until it closes it
/// itself: it catches code that closes a descriptor number twice, the second time closing whatever
/// another thread opened under it in between. Watching `connectedSockets`, it opens pairs of
/// connected sockets instead and also checks they stay connected: that catches a `shutdown` of a
/// number the caller no longer owns. A descriptor closed (or shut down) under it is recorded and
/// left alone (by then the number may be someone else's). Bounded in iterations.
public final class DescriptorSquatter: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    private var lost: Int32?
    private let ended = DispatchSemaphore(value: 0)

    private let connectedSockets: Bool

    private init(connectedSockets: Bool) {
        self.connectedSockets = connectedSockets
    }

    /// A descriptor of the squatter's that someone else closed or shut down, if any.
    public var lostDescriptor: Int32? { locked { lost } }

    /// Runs `body` on a thread of its own (it may block: never on the cooperative pool) while a
    /// squatter watches, then stops the squatter. Returns the descriptor closed under it, if
    /// any, and whether the squatter thread ended (within a minute of being told to), with what
    /// `body` returned.
    public static func watch<T: Sendable>(
        connectedSockets: Bool = false, _ body: @escaping @Sendable (DescriptorSquatter) -> T
    ) async -> (result: T, lost: Int32?, ended: Bool) {
        let squatter = DescriptorSquatter(connectedSockets: connectedSockets)
        return await blockingOnOwnThread {
            Thread { squatter.run() }.start()
            let result = body(squatter)
            squatter.locked { squatter.stopRequested = true }
            let ended = squatter.ended.wait(timeout: .now() + 60) == .success
            return (result, squatter.lostDescriptor, ended)
        }
    }

    /// `attempts` connects to a port where nothing listens (`connect` returns whether one got
    /// through) while a squatter watches: how many were refused, the squatter's descriptor a
    /// failed connect closed a second time (nil if none), and whether the squatter ended.
    public static func refusedConnects(
        attempts: Int, _ connect: @escaping @Sendable () -> Bool
    ) async -> (refused: Int, lost: Int32?, ended: Bool) {
        let watched = await watch { squatter in
            var refused = 0
            for _ in 0..<attempts {
                if !connect() { refused += 1 }
                if squatter.lostDescriptor != nil { break }
            }
            return refused
        }
        return (watched.result, watched.lost, watched.ended)
    }

    private func run() {
        defer { ended.signal() }
        for _ in 0..<2_000_000 {
            if locked({ stopRequested }) { return }
            guard connectedSockets else {
                // A plain descriptor is the cheapest to open: the most turns at a number closed twice in a row.
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else { continue }
                for _ in 0..<20 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
                    locked { lost = fd }
                    return
                }
                close(fd)
                continue
            }
            var pair: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else { continue }
            for _ in 0..<20 {
                for fd in pair where !Self.isOpenAndConnected(fd) {
                    locked { lost = fd }
                    return
                }
            }
            close(pair[0])
            close(pair[1])
        }
    }

    /// Open, and still connected with nothing to read: a peek finds no data and no end of stream
    /// (a `shutdown` of either end reads as the end).
    private static func isOpenAndConnected(_ fd: Int32) -> Bool {
        guard fcntl(fd, F_GETFD) != -1 else { return false }
        var byte: UInt8 = 0
        let peeked = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return peeked == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
