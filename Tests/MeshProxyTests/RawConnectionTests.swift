import MeshTestSupport
import Testing

/// The raw client's own descriptor hygiene: a connect that fails closes its socket exactly once
/// (a second `close` of the number closes whatever another thread opened under it meanwhile).
@Suite struct RawConnectionTests {
    @Test func aRefusedConnectClosesItsSocketOnceLeavingOtherThreadsDescriptorsOpen() async throws {
        let refusing = try RawConnection.refusingPort()
        let port = refusing.port
        let watched = await DescriptorSquatter.refusedConnects(attempts: 5_000) { (try? RawConnection(port: port)) != nil }
        #expect(watched.ended)
        #expect(watched.refused > 0)
        #expect(watched.lost == nil, "a descriptor of another thread was closed under it")
        withExtendedLifetime(refusing) {}
    }
}
