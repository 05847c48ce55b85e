/// Copies of a few bytes (header names and values: mostly under 32) made inline, with at most
/// two overlapping loads and stores each way, instead of a call to `memmove` apiece: a header
/// block's names and values, and a decoded head's fields, cost one such call per name and per
/// value, and the calls (about 0.12 us per proxied HTTP/2 request together) cost more than the
/// copying. Longer runs still go to `memmove`.
enum ShortCopy {
    /// Copies `count` bytes from `source` to `destination`. Every load is made before the stores
    /// of its size class, so the two ranges may overlap.
    @inline(__always)
    static func copy(_ source: UnsafeRawPointer, to destination: UnsafeMutableRawPointer, count: Int) {
        if count >= 16 {
            guard count <= 32 else {
                destination.copyMemory(from: source, byteCount: count)
                return
            }
            let head = source.loadUnaligned(as: SIMD16<UInt8>.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 16, as: SIMD16<UInt8>.self)
            destination.storeBytes(of: head, as: SIMD16<UInt8>.self)
            destination.storeBytes(of: tail, toByteOffset: count - 16, as: SIMD16<UInt8>.self)
        } else if count >= 8 {
            let head = source.loadUnaligned(as: UInt64.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
            destination.storeBytes(of: head, as: UInt64.self)
            destination.storeBytes(of: tail, toByteOffset: count - 8, as: UInt64.self)
        } else if count >= 4 {
            let head = source.loadUnaligned(as: UInt32.self)
            let tail = source.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            destination.storeBytes(of: head, as: UInt32.self)
            destination.storeBytes(of: tail, toByteOffset: count - 4, as: UInt32.self)
        } else if count > 0 {
            // 1 to 3 bytes: the first, the middle (the first or last again) and the last.
            let first = source.load(as: UInt8.self)
            let middle = source.load(fromByteOffset: count >> 1, as: UInt8.self)
            let last = source.load(fromByteOffset: count - 1, as: UInt8.self)
            destination.storeBytes(of: first, as: UInt8.self)
            destination.storeBytes(of: middle, toByteOffset: count >> 1, as: UInt8.self)
            destination.storeBytes(of: last, toByteOffset: count - 1, as: UInt8.self)
        }
    }
}
