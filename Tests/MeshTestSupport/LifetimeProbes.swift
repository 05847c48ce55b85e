import Foundation

/// Weak references to objects a test wants to see freed: for code that holds its objects
/// strongly and breaks the cycles by hand when a connection closes, a leak shows up here as an
/// object still alive once everything that used it is gone.
public final class LifetimeProbes: @unchecked Sendable {
    private struct Reference {
        let name: String
        weak var object: AnyObject?
    }

    private let lock = NSLock()
    private var references: [Reference] = []

    public init() {}

    /// Watches `object` (call it where the object is made, on its event loop).
    public func watch(_ object: AnyObject, as name: String) {
        lock.withLock { references.append(Reference(name: name, object: object)) }
    }

    /// How many objects were watched.
    public var watchedCount: Int { lock.withLock { references.count } }

    /// The names of the watched objects still alive.
    public var alive: [String] { lock.withLock { references.filter { $0.object != nil }.map(\.name) } }

    /// Waits until every watched object is freed or `timeout` passes (the objects go on their
    /// event loop, a tick or two after their channel closed); returns those still alive.
    public func waitUntilFreed(timeout: Duration) async -> [String] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = alive
            if remaining.isEmpty || ContinuousClock.now >= deadline { return remaining }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
