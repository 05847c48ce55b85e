import CNGHTTP2

/// The memory nghttp2 uses for one session: a `cnghttp2_pool` (see the shim), which keeps freed
/// blocks of up to 2 KiB in size-class free lists and hands them out again. Each stream makes
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
