import CNGHTTP2
import NIOCore

/// The memory nghttp2 uses for one session: a `cnghttp2_pool` (see the shim), which keeps freed
/// blocks of up to 2 KiB in size-class free lists (64 KiB per class at most, 16 KiB after a
/// trim) and hands them out again. Each stream makes
/// nghttp2 allocate its stream object, outbound items, a copy of each submitted header list and
/// HPACK buffers and table entries; with the pool most of these stop reaching malloc. A session
/// runs on one event loop, so the lists need no lock.
///
/// The pool must outlive the session: delete the session first, then `release()` (or let the
/// owner's deinit delete the session before its stored properties go).
struct NGHTTP2Allocator: ~Copyable {
    private var pool: UnsafeMutablePointer<cnghttp2_pool>?

    init() throws {
        guard let pool = cnghttp2_pool_new() else {
            throw HTTP2CodecError.library(code: NGHTTP2_ERR_NOMEM.rawValue, message: "out of memory")
        }
        self.pool = pool
    }

    /// The table for `nghttp2_session_*_new3` (nghttp2 copies it; its user data is the pool).
    var mem: UnsafeMutablePointer<nghttp2_mem>? { self.pool?.pointer(to: \.mem) }

    /// Allocations a free list served so far.
    var reuseCount: Int { self.pool.map { Int($0.pointee.reused) } ?? 0 }

    /// The bytes held by the longest free list (tests read it).
    var largestFreeListBytes: Int {
        guard let pool = self.pool else { return 0 }
        return withUnsafeBytes(of: pool.pointee.cached) { raw in
            raw.bindMemory(to: Int.self).enumerated().map { Int(cnghttp2_pool_class_size($0.offset)) * $0.element }.max() ?? 0
        }
    }

    /// Returns free blocks beyond the idle allowance (16 KiB per size class) to malloc.
    func trim() {
        if let pool = self.pool { _ = cnghttp2_pool_trim(pool) }
    }

    /// Frees the pool and its free lists once the session is deleted; returns how many blocks
    /// were still handed out (0 unless memory leaked), or nil if already released.
    mutating func release() -> Int? {
        guard let pool = self.pool else { return nil }
        self.pool = nil
        return cnghttp2_pool_del(pool)
    }

    deinit {
        if let pool { _ = cnghttp2_pool_del(pool) }
    }
}

extension NGHTTP2Session {
    /// nghttp2 allocations served from the allocator's free lists (tests read it).
    var allocatorReuseCount: Int { self.allocator.reuseCount }

    /// How long a session waits, after its last open stream closed, before it trims its free
    /// lists: connections that pause between bursts keep their blocks, idle ones give most back.
    static let allocatorTrimDelay = TimeAmount.seconds(1)

    /// Arms the trim (once: at most one per delay), for when the session ran out of streams.
    func scheduleAllocatorTrim() {
        guard self.allocatorTrim == nil, let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        self.allocatorTrim = context.eventLoop.scheduleTask(in: Self.allocatorTrimDelay) {
            let session = loopBound.value
            session.allocatorTrim = nil
            if session.streams.isEmpty {
                session.allocator.trim()
                session.trimSpareStreams()
            }
        }
    }
}
