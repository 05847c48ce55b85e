import MeshBytes

/// Copies and comparisons of header names and values, which are mostly a few to a few dozen
/// bytes: done inline with overlapping word loads and stores (up to 32 bytes) rather than a call
/// to `memmove`, whose call and size dispatch cost more than such a copy, or a loop per byte; and
/// names lower-cased eight bytes at a time while they are copied. Source and destination must not
/// overlap, but for `lowercaseInPlace`, where they are the same bytes.
enum ShortBytes {
    /// Copies `count` bytes.
    @inline(__always)
    static func copy(_ destination: UnsafeMutablePointer<UInt8>, from source: UnsafePointer<UInt8>, count: Int) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(destination)
        if count >= 8 {
            if count > 32 {
                destination.update(from: source, count: count)
            } else if count > 16 {
                let first = from.loadUnaligned(as: UInt64.self)
                let second = from.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
                let third = from.loadUnaligned(fromByteOffset: count - 16, as: UInt64.self)
                let last = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                to.storeBytes(of: first, as: UInt64.self)
                to.storeBytes(of: second, toByteOffset: 8, as: UInt64.self)
                to.storeBytes(of: third, toByteOffset: count - 16, as: UInt64.self)
                to.storeBytes(of: last, toByteOffset: count - 8, as: UInt64.self)
            } else {
                let first = from.loadUnaligned(as: UInt64.self)
                let last = from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
                to.storeBytes(of: first, as: UInt64.self)
                to.storeBytes(of: last, toByteOffset: count - 8, as: UInt64.self)
            }
        } else if count >= 4 {
            let first = from.loadUnaligned(as: UInt32.self)
            let last = from.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
            to.storeBytes(of: first, as: UInt32.self)
            to.storeBytes(of: last, toByteOffset: count - 4, as: UInt32.self)
        } else if count > 0 {
            // 1 to 3 bytes: the first, the middle and the last cover them.
            destination[0] = source[0]
            destination[count >> 1] = source[count >> 1]
            destination[count - 1] = source[count - 1]
        }
    }

    /// Lower-cases `count` bytes where they are: `copyLowercased` onto themselves, which is safe
    /// there (each word is loaded before it is stored, and the overlapping tail only lower-cases
    /// again what is lower-case already).
    @inline(__always)
    static func lowercaseInPlace(_ bytes: UnsafeMutablePointer<UInt8>, count: Int) {
        copyLowercased(bytes, from: UnsafePointer(bytes), count: count)
    }

    /// Copies `count` bytes with ASCII upper-case letters made lower-case (other bytes as they are).
    @inline(__always)
    static func copyLowercased(_ destination: UnsafeMutablePointer<UInt8>, from source: UnsafePointer<UInt8>, count: Int) {
        let from = UnsafeRawPointer(source)
        let to = UnsafeMutableRawPointer(destination)
        if count >= 8 {
            var offset = 0
            while offset + 8 <= count {
                to.storeBytes(of: ASCIIWord.lowercased(from.loadUnaligned(fromByteOffset: offset, as: UInt64.self)), toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            // The tail as the last eight bytes, overlapping what is done (lower-casing is idempotent).
            if offset < count {
                to.storeBytes(
                    of: ASCIIWord.lowercased(from.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)), toByteOffset: count - 8, as: UInt64.self)
            }
        } else if count >= 4 {
            let first = ASCIIWord.lowercased(UInt64(from.loadUnaligned(as: UInt32.self)))
            let last = ASCIIWord.lowercased(UInt64(from.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)))
            to.storeBytes(of: UInt32(truncatingIfNeeded: first), as: UInt32.self)
            to.storeBytes(of: UInt32(truncatingIfNeeded: last), toByteOffset: count - 4, as: UInt32.self)
        } else {
            for index in 0..<count {
                let byte = source[index]
                destination[index] = byte | (byte &- UInt8(ascii: "A") < 26 ? 0x20 : 0)
            }
        }
    }

    /// Whether the `count` bytes at `first` and at `second` are the same.
    @inline(__always)
    static func equal(_ first: UnsafePointer<UInt8>, _ second: UnsafePointer<UInt8>, count: Int) -> Bool {
        let one = UnsafeRawPointer(first)
        let other = UnsafeRawPointer(second)
        if count >= 8 {
            var offset = 0
            while offset + 8 <= count {
                if one.loadUnaligned(fromByteOffset: offset, as: UInt64.self) != other.loadUnaligned(fromByteOffset: offset, as: UInt64.self) {
                    return false
                }
                offset += 8
            }
            return offset == count
                || one.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self) == other.loadUnaligned(fromByteOffset: count - 8, as: UInt64.self)
        }
        if count >= 4 {
            return one.loadUnaligned(as: UInt32.self) == other.loadUnaligned(as: UInt32.self)
                && one.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self) == other.loadUnaligned(fromByteOffset: count - 4, as: UInt32.self)
        }
        for index in 0..<count where first[index] != second[index] { return false }
        return true
    }
}
