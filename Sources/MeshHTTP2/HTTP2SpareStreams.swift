import CNGHTTP2

/// The objects of a session's closed streams that nothing else referenced, kept for its new
/// streams: each stream otherwise cost a malloc and a free (two per proxied request). A stack of
/// references retained by hand rather than an array: when one is handed out, the next one is
/// fetched into the cache (a stream closed a while ago has often left it, and resetting it for
/// its new stream waited on memory for most of its time), which an array allowed only with a
/// retain or a uniqueness check more per stream.
struct HTTP2SpareStreams: ~Copyable {
    /// Each entry holds a reference of its own (retained by `push`, moved out by `pop`, released by
    /// `trim` and `deinit`), which keeps its object alive while it waits here.
    private var storage: UnsafeMutablePointer<Unmanaged<HTTP2StreamState>>?
    private var capacity = 0
    private(set) var count = 0

    /// The cache lines of a stream object that `HTTP2StreamState.reuse` writes (its stored
    /// properties span about 220 bytes).
    private static let objectLines: Int32 = 4

    init() {}

    deinit {
        for index in 0..<self.count { self.storage?[index].release() }
        self.storage?.deallocate()
    }

    /// The newest spare (its reference moves out), the next one fetched into the cache.
    mutating func pop() -> HTTP2StreamState? {
        guard self.count > 0, let storage = self.storage else { return nil }
        self.count -= 1
        let spare = storage[self.count].takeRetainedValue()
        if self.count > 0 { cnghttp2_prefetch_lines(storage[self.count - 1].toOpaque(), Self.objectLines) }
        return spare
    }

    /// Keeps `stream`, whose reference moves in.
    mutating func push(_ stream: consuming HTTP2StreamState) {
        if self.count == self.capacity { self.grow() }
        self.storage?[self.count] = Unmanaged.passRetained(stream)
        self.count += 1
    }

    /// Lets go of the spares beyond the first `kept`.
    mutating func trim(keeping kept: Int) {
        guard let storage = self.storage else { return }
        while self.count > kept {
            self.count -= 1
            storage[self.count].release()
        }
    }

    private mutating func grow() {
        let capacity = max(16, self.capacity * 2)
        let grown = UnsafeMutablePointer<Unmanaged<HTTP2StreamState>>.allocate(capacity: capacity)
        if let storage = self.storage {
            grown.moveInitialize(from: storage, count: self.count)
            storage.deallocate()
        }
        self.storage = grown
        self.capacity = capacity
    }
}
