import Atomics
import NIOCore

/// The little state all event loops of one proxy share: circuit breakers, outlier detectors, the
/// listener's connection count, and the access log file. None of it is touched per request unless a
/// DestinationRule sets a limit or outlier detection.
final class SharedProxyState: Sendable {
    let circuitBreakers = CircuitBreakerRegistry()
    let outlierDetectors = OutlierDetectorRegistry()
    let openConnections = ManagedAtomic<Int>(0)
    let maxConnections: Int
    let accessLogSink: AccessLogSink?

    init(configuration: ProxyConfiguration) throws {
        self.maxConnections = configuration.limits.maxConnections
        switch configuration.accessLog {
        case .none: accessLogSink = nil
        case .standardOutput: accessLogSink = AccessLogSink(standardOutput: ())
        case .file(let path): accessLogSink = try AccessLogSink(path: path)
        }
    }

    /// Counts a new downstream connection; false when the listener is full.
    func admitConnection() -> Bool {
        if openConnections.wrappingIncrementThenLoad(ordering: .relaxed) > maxConnections {
            openConnections.wrappingDecrement(ordering: .relaxed)
            return false
        }
        return true
    }

    func connectionClosed() {
        openConnections.wrappingDecrement(ordering: .relaxed)
    }
}
