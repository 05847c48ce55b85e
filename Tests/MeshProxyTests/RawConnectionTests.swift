import MeshTestSupport
import Testing

/// The raw client's own descriptor hygiene: a connect that fails closes its socket exactly once
/// (a second `close` of the number closes whatever another thread opened under it meanwhile).
@Suite struct RawConnectionTests {
    @Test func aRefusedConnectClosesItsSocketOnceLeavingOtherThreadsDescriptorsOpen() async throws {
        let refusing = try RawConnection.refusingPort()
        let squatter = DescriptorSquatter()
        squatter.start()
        var refused = 0
        for _ in 0..<20_000 {
            if (try? RawConnection(port: refusing.port)) == nil { refused += 1 }
            if squatter.lostDescriptor != nil { break }
        }
        squatter.stop()
        #expect(await squatter.waitUntilStopped(timeout: .seconds(10)))
        #expect(refused > 0)
        #expect(squatter.lostDescriptor == nil, "a descriptor of another thread was closed under it")
    }
}
