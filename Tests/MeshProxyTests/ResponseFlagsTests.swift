import MeshProxy
import Testing

/// `%RESPONSE_FLAGS%` as Envoy prints it: codes in the order of its `ResponseFlagUtils` table,
/// whatever order they were raised in.
@Suite struct ResponseFlagsTests {
    @Test(arguments: [
        ([.upstreamRetryLimitExceeded, .delayInjected], "DI,URX"),
        ([.upstreamRetryLimitExceeded, .downstreamConnectionTermination], "DC,URX"),
        ([.upstreamProtocolError, .upstreamRetryLimitExceeded], "URX,UPE"),
        ([.noRouteFound, .upstreamOverflow], "UO,NR"),
        ([.downstreamRemoteReset, .upstreamRemoteReset], "UR,DR"),
        ([.streamIdleTimeout, .downstreamProtocolError, .noClusterFound], "SI,DPE,NC"),
        ([], "-"),
    ] as [(ResponseFlags, String)])
    func printedInEnvoysOrder(flags: ResponseFlags, printed: String) {
        #expect(flags.description == printed)
        #expect(ResponseFlags(codes: printed) == flags)
    }
}
