/// A run of plain values in memory managed by hand, which a header-block builder keeps and reuses
/// for every block: no array uniqueness or capacity checks per element. The owner deallocates it
/// in its `deinit`.
struct ReusedStorage<Element: BitwiseCopyable> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        self.base = .allocate(capacity: capacity)
    }

    /// Makes room for `needed` elements, keeping the first `count`; the capacity doubles until it fits.
    @inline(__always)
    mutating func reserve(_ needed: Int, keeping count: Int) {
        guard needed > self.capacity else { return }
        self.grow(to: needed, keeping: count)
    }

    private mutating func grow(to needed: Int, keeping count: Int) {
        var capacity = self.capacity * 2
        while capacity < needed { capacity *= 2 }
        let grown = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        grown.moveInitialize(from: self.base, count: count)
        self.base.deallocate()
        self.base = grown
        self.capacity = capacity
    }

    func deallocate() {
        self.base.deallocate()
    }
}
