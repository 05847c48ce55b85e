import MeshTestSupport
import Testing

/// The raw client's own descriptor hygiene: a connect that fails closes its socket exactly once
/// (a second `close` of the number closes whatever another thread opened under it meanwhile).
/// One at a time: two squatters would compete for the numbers each is there to catch.
@Suite(.serialized) struct RawConnectionTests {
    @Test func aRefusedConnectClosesItsSocketOnceLeavingOtherThreadsDescriptorsOpen() async throws {
        let refusing = try RefusingPort()
        let port = refusing.port
        let watched = await DescriptorSquatter.refusedConnects(attempts: 5_000) { (try? RawConnection(port: port)) != nil }
        #expect(watched.ended)
        #expect(watched.refused > 0)
        #expect(watched.lost == nil, "a descriptor of another thread was closed under it")
        withExtendedLifetime(refusing) {}
    }

    /// `ResettingServer.stop()` touches only its own listener. A version whose serving thread
    /// closed the listener, after which `stop()` shut the number down, cut whatever socket the
    /// process had opened under it meanwhile: 503 "connection termination" (UC) for the WebSocket
    /// canary's upstream connection in a loaded full run, ClosedEarly in OutlierDetectionTests.
    @Test func stoppingResettingServersLeavesOtherThreadsSocketsAlone() async throws {
        let watched = await DescriptorSquatter.watch(connectedSockets: true) { squatter in
            var stopped = 0
            for _ in 0..<2_000 where squatter.lostDescriptor == nil {
                guard let server = try? ResettingServer() else { continue }
                server.stop()
                stopped += 1
            }
            return stopped
        }
        #expect(watched.ended)
        #expect(watched.result > 0)
        #expect(watched.lost == nil, "a socket of another thread was closed or shut down under it")
    }
}
