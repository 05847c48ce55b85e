import Foundation

/// Runs blocking work (waiting for a process, a socket read, curl) on a thread of its own, never
/// on Swift's cooperative pool (two threads on this machine) or libdispatch's global queues:
/// tests run in parallel, and a pool blocked by a few waits would stall every other test.
public func onOwnThread<T>(_ work: @escaping () throws -> T) async throws -> T {
    let box = ThrowingWork(work: work)
    return try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try box.work() }) }.start()
    }
}

/// `onOwnThread` for work that cannot fail.
func blockingOnOwnThread<T>(_ work: @escaping () -> T) async -> T {
    let box = Work(work: work)
    return await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: box.work()) }.start()
    }
}

/// Carry closures to the thread that runs them; only that thread calls them.
private struct ThrowingWork<T>: @unchecked Sendable {
    let work: () throws -> T
}

private struct Work<T>: @unchecked Sendable {
    let work: () -> T
}
