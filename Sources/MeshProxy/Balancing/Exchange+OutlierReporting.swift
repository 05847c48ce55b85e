import MeshHTTP2

/// Where an exchange tells its cluster's outlier detection how an attempt went: the points at
/// which Envoy's router reports to the host's outlier monitor (pool ready, response headers,
/// reset or connect failure, per-try and route timeout). Nothing happens for a cluster without
/// outlier detection.
extension Exchange {
    func reportOutlier(_ outcome: OutlierDetector.Outcome) {
        // Lent: the exchange holds both through the call, and recording changes neither
        // (bound as locals, each was retained and released, twice per request).
        guard let runtime = lentClusterRuntime, let pool = lentUpstreamPool,
              runtime._withUnsafeGuaranteedRef({ $0.outlier != nil }) else { return }
        runtime._withUnsafeGuaranteedRef { runtime in
            pool._withUnsafeGuaranteedRef { runtime.recordOutlier(outcome, pool: $0, hint: currentEndpoint) }
        }
    }

    /// A response head: its status, or for gRPC the `grpc-status` of a trailers-only answer.
    func reportOutlierResponse(_ head: borrowing UpstreamResponseHead) {
        guard clusterRuntime?.outlier != nil else { return }
        let grpcStatus = requestProtocol == .grpc ? head.fields.first(name: "grpc-status").flatMap { Int($0) } : nil
        reportOutlier(.response(status: head.status, grpcStatus: grpcStatus))
    }

    /// A per-try or route timeout: counts only for an attempt that had a connection and was still
    /// waiting for the response head (Envoy reports nothing for one still waiting on the pool).
    func reportOutlierTimeout() {
        guard upstream != nil, !responseStarted else { return }
        reportOutlier(.timedOut)
    }
}
