extension Optional {
    /// `self = value` for a slot that is nil on the usual path: there the compiler knows the old
    /// value holds nothing to release (a plain assignment calls swift_release even on nil, once
    /// per request for each such store).
    @inline(__always)
    mutating func fill(with value: consuming Wrapped) {
        if case .none = self { self = .some(value) } else { self = .some(value) }
    }
}
