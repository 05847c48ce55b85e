import MeshConfig

/// How a simulated pod behaves, read from its pod-template annotations. A real cluster ignores
/// these annotations, so the same Deployment still applies unchanged.
///
/// ```yaml
/// meshsim.dev/latency: "p50=5ms,p99=40ms"   # or a fixed "5ms"
/// meshsim.dev/error-rate: "2%"               # or "0.02"
/// meshsim.dev/error-code: "503"
/// meshsim.dev/max-concurrency: "40"          # beyond it: 503 at once
/// meshsim.dev/body-bytes: "1KiB"
/// ```
public struct BehaviorProfile: Sendable, Hashable, CustomStringConvertible {
    public static let latencyAnnotation = "meshsim.dev/latency"
    public static let errorRateAnnotation = "meshsim.dev/error-rate"
    public static let errorCodeAnnotation = "meshsim.dev/error-code"
    public static let maxConcurrencyAnnotation = "meshsim.dev/max-concurrency"
    public static let bodyBytesAnnotation = "meshsim.dev/body-bytes"
    public static let annotationPrefix = "meshsim.dev/"
    public static let knownAnnotations = [latencyAnnotation, errorRateAnnotation, errorCodeAnnotation, maxConcurrencyAnnotation, bodyBytesAnnotation]

    /// Larger bodies would be held in memory by every pod; a benchmark rarely needs more.
    public static let maximumBodyBytes = 64 << 20

    public var latency: LatencyModel
    /// The fraction of admitted requests answered with `errorCode`, in [0, 1].
    public var errorRate: Double
    public var errorCode: Int
    /// In-flight requests the pod accepts; the next one gets 503 at once. nil: unlimited.
    public var maxConcurrency: Int?
    /// The size of the default response body; nil: a short line naming the pod.
    public var bodyBytes: Int?

    public init(latency: LatencyModel = .none, errorRate: Double = 0, errorCode: Int = 503, maxConcurrency: Int? = nil, bodyBytes: Int? = nil) {
        self.latency = latency
        self.errorRate = errorRate
        self.errorCode = errorCode
        self.maxConcurrency = maxConcurrency
        self.bodyBytes = bodyBytes
    }

    /// Reads the `meshsim.dev/*` annotations; other annotations are ignored. An unknown
    /// `meshsim.dev/` key or a bad value is an error naming the annotation and the value.
    public init(annotations: [String: String]) throws {
        self.init()
        for (key, rawValue) in annotations where key.hasPrefix(Self.annotationPrefix) {
            let value = rawValue.trimmingASCIIWhitespace()
            func fail(_ reason: String) -> BehaviorProfileError {
                BehaviorProfileError(annotation: key, value: rawValue, reason: reason)
            }
            switch key {
            case Self.latencyAnnotation:
                guard let model = Self.parseLatency(value) else {
                    throw fail("expected a duration (5ms, 1.5s) or two quantiles (p50=5ms,p99=40ms; p50 ≤ p99, both > 0)")
                }
                latency = model
            case Self.errorRateAnnotation:
                guard let rate = Self.parseRate(value) else {
                    throw fail("expected a percentage (2%) or a fraction (0.02) between 0 and 1")
                }
                errorRate = rate
            case Self.errorCodeAnnotation:
                guard let code = Int(value), (200...599).contains(code) else {
                    throw fail("expected an HTTP status code from 200 to 599")
                }
                errorCode = code
            case Self.maxConcurrencyAnnotation:
                guard let limit = Int(value), limit >= 1 else {
                    throw fail("expected a whole number of requests, at least 1")
                }
                maxConcurrency = limit
            case Self.bodyBytesAnnotation:
                guard let bytes = Self.parseByteCount(value), bytes <= Self.maximumBodyBytes else {
                    throw fail("expected a size in bytes (512, 4KiB, 1MB) up to 64MiB")
                }
                bodyBytes = bytes
            default:
                throw fail("unknown meshsim annotation (known: \(Self.knownAnnotations.joined(separator: ", ")))")
            }
        }
    }

    public var description: String {
        var parts = ["latency \(latency)"]
        if errorRate > 0 { parts.append("error-rate \(errorRate * 100)% (\(errorCode))") }
        if let maxConcurrency { parts.append("max-concurrency \(maxConcurrency)") }
        if let bodyBytes { parts.append("body \(bodyBytes) bytes") }
        return parts.joined(separator: ", ")
    }

    // MARK: Parsing

    static func parseLatency(_ text: String) -> LatencyModel? {
        guard text.contains("=") else {
            guard let duration = IstioDuration(parsing: text), duration.nanoseconds >= 0,
                duration.nanoseconds <= LatencyModel.maximumNanoseconds
            else { return nil }
            return duration.nanoseconds == 0 ? LatencyModel.none : .fixed(nanoseconds: duration.nanoseconds)
        }
        var points: [(quantile: Double, nanoseconds: Int64)] = []
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", omittingEmptySubsequences: false)
            guard pair.count == 2, let quantile = parseQuantileName(pair[0].trimmingASCIIWhitespace()),
                let duration = IstioDuration(parsing: pair[1].trimmingASCIIWhitespace()),
                duration.nanoseconds <= LatencyModel.maximumNanoseconds
            else { return nil }
            points.append((quantile, duration.nanoseconds))
        }
        guard points.count == 2 else { return nil }
        points.sort { $0.quantile < $1.quantile }
        return LatencyModel.fitted(lower: points[0], upper: points[1])
    }

    /// `p50` → 0.5, `p90` → 0.9, `p99.9` and `p999` → 0.999.
    static func parseQuantileName(_ name: String) -> Double? {
        guard name.first == "p" || name.first == "P" else { return nil }
        let digits = String(name.dropFirst())
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return nil }
        let quantile: Double?
        if digits.contains(".") || digits.count <= 2 {
            quantile = Double(digits).map { $0 / 100 }
        } else if digits.allSatisfy({ $0 == "9" }) {
            quantile = Double("0." + digits)
        } else {
            quantile = nil
        }
        guard let quantile, quantile > 0, quantile < 1 else { return nil }
        return quantile
    }

    static func parseRate(_ text: String) -> Double? {
        let rate: Double?
        if text.hasSuffix("%") {
            rate = Double(text.dropLast().trimmingASCIIWhitespace()).map { $0 / 100 }
        } else {
            rate = Double(text)
        }
        guard let rate, rate.isFinite, rate >= 0, rate <= 1 else { return nil }
        return rate
    }

    static func parseByteCount(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, digits.count <= 12, let count = Int(digits) else { return nil }
        let unit = text.dropFirst(digits.count).trimmingASCIIWhitespace()
        let scale: Int
        switch unit {
        case "", "B": scale = 1
        case "k", "kB", "KB": scale = 1000
        case "Ki", "KiB": scale = 1024
        case "M", "MB": scale = 1_000_000
        case "Mi", "MiB": scale = 1 << 20
        default: return nil
        }
        return count * scale
    }
}

/// A `meshsim.dev/*` annotation with a value meshsim cannot use.
public struct BehaviorProfileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var annotation: String
    public var value: String
    public var reason: String

    public init(annotation: String, value: String, reason: String) {
        self.annotation = annotation
        self.value = value
        self.reason = reason
    }

    public var description: String { "\(annotation): invalid value \"\(value)\": \(reason)" }
}

extension StringProtocol {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[start...end])
    }
}
