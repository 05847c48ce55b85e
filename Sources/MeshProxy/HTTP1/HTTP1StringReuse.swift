#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The string a connection's previous message had in one place (its target, its Host). A
/// keep-alive client sends the same Host, and often the same target, request after request, so
/// bytes equal to last time's share that string instead of allocating and copying a new one.
struct HTTP1StringReuse {
    /// Longer strings are not kept (a target that changes every time would only churn).
    static let maxLength = 512

    private var last = ""

    mutating func string(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> String {
        // Compared in place: no copy until a new string is the answer.
        if last.utf8.count == count, Self.equal(&last, bytes, start, count) { return last }
        let fresh = HTTP1Fields.string(bytes, start, count)
        if count <= Self.maxLength { last = fresh }
        return fresh
    }

    @inline(__always)
    private static func equal(_ known: inout String, _ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> Bool {
        guard count > 0 else { return true }
        return known.withUTF8 { stored in
            guard let storedBase = stored.baseAddress, let base = bytes.baseAddress else { return false }
            return memcmp(storedBase, base + start, count) == 0
        }
    }
}
