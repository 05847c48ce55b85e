/// The open streams of one connection by id. Stream ids only rise on a connection (RFC 9113
/// §5.1.1), so entries are appended in order and found by binary search, newest first: no
/// hashing per lookup (a `Dictionary` keyed by id hashed with SipHash on every event), and
/// the storage is reused from stream to stream. A closed stream leaves a hole until the holes
/// at the front are dropped or outnumber the open streams.
/// Entries live in `start..<end` of the arrays; past `end` they hold stale ids and nil slots,
/// reused by later streams: emptying the arrays (`removeAll(keepingCapacity:)`, each time the
/// last open stream closed) destroyed every nil slot through the runtime's generic array
/// destruction.
public struct HTTP2StreamTable<Value> {
    @usableFromInline var ids: [Int32] = []
    @usableFromInline var slots: [Value?] = []
    /// Index of the first slot that may still hold a stream.
    @usableFromInline var start = 0
    /// One past the last entry in use; every slot from here on is nil.
    @usableFromInline var end = 0
    @usableFromInline var storedCount = 0

    /// Open streams.
    @inlinable public var count: Int { storedCount }

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { count == 0 }

    @inlinable
    public subscript(id: HTTP2StreamID) -> Value? {
        get { self[id.value] }
        set { self[id.value] = newValue }
    }

    @inlinable
    public subscript(id: Int32) -> Value? {
        get {
            guard let index = index(of: id) else { return nil }
            return slots[index]
        }
        set {
            guard newValue != nil else {
                removeValue(forKey: id)
                return
            }
            if let index = index(of: id) {
                if slots[index] == nil { storedCount += 1 }
                slots[index] = newValue
            } else {
                insert(newValue, for: id)
            }
        }
    }

    @inlinable
    @discardableResult
    public mutating func removeValue(forKey id: HTTP2StreamID) -> Value? {
        removeValue(forKey: id.value)
    }

    /// Moves the value out (no retain and release, as a copy would make).
    @inlinable
    @discardableResult
    public mutating func removeValue(forKey id: Int32) -> Value? {
        guard let index = index(of: id), let value = slots[index].take() else { return nil }
        storedCount -= 1
        dropHoles()
        return value
    }

    @inlinable
    public mutating func removeAll() {
        ids.removeAll(keepingCapacity: true)
        slots.removeAll(keepingCapacity: true)
        start = 0
        end = 0
        storedCount = 0
    }

    /// The open streams, lowest id first.
    @inlinable
    public var values: [Value] {
        var result: [Value] = []
        result.reserveCapacity(count)
        for index in start..<end {
            if let value = slots[index] { result.append(value) }
        }
        return result
    }

    /// Whether `id` is above every id the table holds (then it holds no entry for it).
    @inlinable
    public func isAboveNewest(_ id: Int32) -> Bool {
        end == start || ids[end - 1] < id
    }

    @inlinable
    func index(of id: Int32) -> Int? {
        var low = start
        var high = end
        // Events mostly concern the newest stream. (Checking the oldest as well stopped the
        // compiler from inlining the lookup into the session, whose calls then retained: about
        // 13 more retains per proxied request.)
        if high > low, ids[high - 1] == id { return high - 1 }
        // One side's ids rise by 2 from stream to stream, and a closed stream keeps its place
        // until compaction: the distance from the first id is then the slot. Checked, so ids
        // the peer skipped or a compaction closed up only cost the search below.
        if high > low {
            let guess = low + (Int(id) - Int(ids[low])) >> 1
            if guess >= low && guess < high && ids[guess] == id { return guess }
        }
        while low < high {
            let middle = (low + high) >> 1
            let candidate = ids[middle]
            if candidate == id { return middle }
            if candidate < id { low = middle + 1 } else { high = middle }
        }
        return nil
    }

    /// Adds a stream the table does not hold yet (a new id), taking over the caller's reference:
    /// no retain for the table's copy and release of the caller's, as storing a copy made.
    @inlinable
    public mutating func insertNew(_ value: consuming Value, for id: Int32) {
        insert(Optional(consume value), for: id)
    }

    @inlinable
    mutating func insert(_ value: consuming Value?, for id: Int32) {
        storedCount += 1
        if end == start || ids[end - 1] < id {
            if end < ids.count {
                ids[end] = id
                // Initialized in place over the nil it holds: an assignment released that nil.
                var incoming = consume value
                let index = end
                slots.withUnsafeMutableBufferPointer { ($0.baseAddress! + index).initialize(to: incoming.take()) }
            } else {
                ids.append(id)
                slots.append(consume value)
            }
            end += 1
            return
        }
        // Below the newest id (not seen from a conforming peer): keep the ids sorted.
        if end < ids.count {
            ids.removeSubrange(end...)
            slots.removeSubrange(end...)
        }
        var position = start
        while position < end, ids[position] < id { position += 1 }
        ids.insert(id, at: position)
        slots.insert(consume value, at: position)
        end += 1
    }

    @inlinable
    mutating func dropHoles() {
        if count == 0 {
            // Every slot is nil: the arrays are reused from the start as they are.
            start = 0
            end = 0
            return
        }
        while start < end, slots[start] == nil { start += 1 }
        let holes = end - start - count
        // Compacts when the dead front or the holes behind a long-lived stream grow large:
        // amortized constant work per stream, storage bounded by a small multiple of the open ones.
        guard start >= 64 && start * 2 >= end || holes >= 64 && holes > count else { return }
        var kept = 0
        // Through the buffers: the array's swapAt retained and released what it swapped.
        slots.withUnsafeMutableBufferPointer { slots in
            ids.withUnsafeMutableBufferPointer { ids in
                for index in start..<end where slots[index] != nil {
                    ids[kept] = ids[index]
                    slots.swapAt(kept, index)  // moves; the nil goes to `index`
                    kept += 1
                }
            }
        }
        end = kept
        start = 0
    }
}
