#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The field strings a connection's last message had, by position. A keep-alive client (or
/// upstream) sends the same fields message after message (Host, User-Agent, Content-Type, …), so a
/// field whose bytes equal the one at its position last time shares that string instead of
/// allocating and copying a new one.
struct HTTP1FieldCache {
    /// Positions remembered; fields after these are made afresh each time.
    static let positions = 32
    /// Longer values are not kept (a cookie that changes every time would only churn).
    static let maxLength = 512

    private var names: [String] = []
    private var values: [String] = []

    mutating func name(at position: Int, _ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> String {
        Self.lookUp(&names, position, bytes, start, count)
    }

    mutating func value(at position: Int, _ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> String {
        Self.lookUp(&values, position, bytes, start, count)
    }

    @inline(__always)
    private static func lookUp(_ list: inout [String], _ position: Int, _ bytes: UnsafeRawBufferPointer, _ start: Int, _ count: Int) -> String {
        // Compared in place (no copy of the string until it is the answer).
        if position < list.count, list[position].utf8.count == count, Self.equal(&list[position], bytes, start, count) {
            return list[position]
        }
        let fresh = HTTP1Fields.string(bytes, start, count)
        guard count <= maxLength, position < positions else { return fresh }
        if position < list.count {
            list[position] = fresh
        } else if position == list.count {
            list.append(fresh)
        }
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
