import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A thread that keeps opening a descriptor (the kernel hands out the lowest free number, so it
/// takes any number another thread just closed) and checks that it stays open until it closes it
/// itself: it catches code that closes a descriptor number twice, the second time closing whatever
/// another thread opened under it in between. A descriptor closed under it is recorded and left
/// alone (by then the number may be someone else's). Bounded in iterations.
public final class DescriptorSquatter: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    private var stopped = false
    private var lost: Int32?

    public init() {}

    /// A descriptor of the squatter's that someone else closed, if any.
    public var lostDescriptor: Int32? { locked { lost } }

    public func start() {
        Thread { self.run() }.start()
    }

    public func stop() { locked { stopRequested = true } }

    /// Waits (bounded) until the thread ended; false if it has not by the deadline.
    public func waitUntilStopped(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if locked({ stopped }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    private func run() {
        defer { locked { stopped = true } }
        for _ in 0..<2_000_000 {
            if locked({ stopRequested }) { return }
            let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            for _ in 0..<20 where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
                locked { lost = fd }
                return
            }
            close(fd)
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
