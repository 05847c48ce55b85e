/// Istio's rules for HTTP fault injection: an abort (HTTP or gRPC status) and/or a delay, each
/// with an optional percentage of requests.
enum FaultRules {
    /// gRPC status names Istio accepts for `abort.grpcStatus`.
    static let grpcStatuses: Set<String> = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// An abort or direct response status. Istio's bound is inclusive of 600 although its message
    /// says 599; meshsim keeps the bound Istio enforces.
    static func httpStatus(_ status: Int64) -> String? {
        (200...600).contains(status) ? nil : "HTTP status \(status) is not in range 200-599"
    }

    static func grpcStatus(_ status: String) -> String? {
        if grpcStatuses.contains(status) { return nil }
        return "gRPC status \(NameRules.goQuoted(status)) is not supported. See https://github.com/grpc/grpc/blob/master/doc/statuscodes.md for a list of supported codes, for example 'NOT_FOUND'"
    }

    static func validate(_ fault: HTTPFaultInjection?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let fault else { return }
        if fault.abort == nil && fault.delay == nil {
            findings.error(path, "HTTP fault injection must have an abort and/or a delay")
        }
        abort(fault.abort, at: path / "abort", into: &findings)
        delay(fault.delay, at: path / "delay", into: &findings)
    }

    static func abort(_ abort: HTTPFaultInjection.Abort?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let abort else { return }
        findings.add(CommonRules.percentage(abort.percentage), at: path / "percentage")
        let errorTypes = [abort.httpStatus != nil, abort.grpcStatus != nil, abort.http2Error != nil].filter { $0 }.count
        if errorTypes > 1 {
            findings.error(path, "only one of httpStatus, grpcStatus or http2Error may be set")
            return
        }
        if let status = abort.grpcStatus {
            findings.add(grpcStatus(status), at: path / "grpcStatus")
        } else if abort.http2Error != nil {
            findings.error(path / "http2Error", "HTTP/2 abort fault injection not supported yet")
        } else if let status = abort.httpStatus {
            findings.add(httpStatus(Int64(status)), at: path / "httpStatus")
        } else {
            findings.warning(path, "abort configured, but error type not set")
        }
    }

    static func delay(_ delay: HTTPFaultInjection.Delay?, at path: FieldPath, into findings: inout ValidationFindings) {
        guard let delay else { return }
        findings.add(CommonRules.percentage(delay.percentage), at: path / "percentage")
        if delay.fixedDelay != nil && delay.exponentialDelay != nil {
            findings.error(path, "only one of fixedDelay or exponentialDelay may be set")
            return
        }
        if let fixed = delay.fixedDelay {
            findings.add(CommonRules.duration(fixed), at: path / "fixedDelay")
        } else if let exponential = delay.exponentialDelay {
            findings.add(CommonRules.duration(exponential), at: path / "exponentialDelay")
            findings.error(path / "exponentialDelay", "exponentialDelay not supported yet")
        }
    }
}
