/// An upstream transport's delegate (the exchange or shadow request reading the response), lent
/// to the transport's response callbacks without a retain when it is an `Exchange` (the usual
/// case): each call through the optional existential retained and released it.
///
/// The strong reference (`current`) keeps the exchange alive until a callback lets go of it (the
/// exchange ends and releases the transport from inside its own callback); from then until that
/// callback returns, `parked` keeps it. The transport brackets each lent call with
/// `beginLending()` and `endLending()`, as separate accesses: the callback sets the delegate.
struct UpstreamDelegateHolder {
    private(set) var current: UpstreamConnectionDelegate?
    /// `current` when it is an exchange.
    private var exchange: Unmanaged<Exchange>?
    /// Whether a call runs with `exchange` lent.
    private var lending = false
    /// The lent delegate, let go of during the call that lends it.
    private var parked: UpstreamConnectionDelegate?

    /// Consumed: stored by a move. The exchange to lend is read first (read after the store,
    /// the value was retained and released).
    @inline(__always)
    mutating func set(_ newValue: consuming UpstreamConnectionDelegate?) {
        let exchange = (newValue as? Exchange).map { Unmanaged.passUnretained($0) }
        if lending, parked == nil {
            // The call running lends the current delegate: it waits here, unreleased.
            swap(&parked, &current)
            if newValue != nil { current = newValue }
        } else if current == nil {
            current = newValue  // Over nil, known here: no release of the old value.
        } else {
            current = newValue
        }
        self.exchange = exchange
    }

    /// Lets go of the delegate outside any call (a transport handed to another request); stores
    /// only when there is one (nil over nil still calls swift_release).
    @inline(__always)
    mutating func clear() {
        if current != nil { current = nil }
        exchange = nil
    }

    /// The exchange to call without a retain, nil when the delegate must be retained for the
    /// call instead (not an exchange, none, or a call nested in another lent one).
    @inline(__always)
    mutating func beginLending() -> Unmanaged<Exchange>? {
        guard let exchange, !lending else { return nil }
        lending = true
        return exchange
    }

    /// Whether the lent delegate was let go of during the call; `dropParked()` releases it.
    @inline(__always)
    mutating func endLending() -> Bool {
        lending = false
        return parked != nil
    }

    mutating func dropParked() {
        parked = nil
    }
}

/// A transport that keeps its delegate in an `UpstreamDelegateHolder` (HTTP/1.1 connections and
/// h2c streams) and calls it through `callDelegate`.
protocol LendsUpstreamDelegate: AnyObject {
    var delegate: UpstreamConnectionDelegate? { get }
    var delegates: UpstreamDelegateHolder { get set }
}

extension LendsUpstreamDelegate {
    /// Calls `body` with the delegate, if any: an exchange is lent without a retain (see
    /// `UpstreamDelegateHolder`); anything else, or a call nested in another, is retained for the call.
    @inline(__always)
    func callDelegate(_ body: (any UpstreamConnectionDelegate) -> Void) {
        guard let lent = delegates.beginLending() else {
            if let delegate { body(delegate) }
            return
        }
        lent._withUnsafeGuaranteedRef { body($0) }
        if delegates.endLending() { delegates.dropParked() }
    }
}
