import MeshTestSupport
import Testing

/// The raw client's own descriptor hygiene: a connect that fails closes its socket exactly once
/// (a second `close` of the number closes whatever another thread opened under it meanwhile).
@Suite struct RawConnectionTests {
    @Test func aRefusedConnectClosesItsSocketOnceLeavingOtherThreadsDescriptorsOpen() async throws {
        let refusing = try RawConnection.refusingPort()
        let port = refusing.port
        let watched = await DescriptorSquatter.watch { squatter in
            var refused = 0
            for _ in 0..<5_000 {
                if (try? RawConnection(port: port)) == nil { refused += 1 }
                if squatter.lostDescriptor != nil { break }
            }
            return refused
        }
        #expect(watched.ended)
        #expect(watched.result > 0)
        #expect(watched.lost == nil, "a descriptor of another thread was closed under it")
        withExtendedLifetime(refusing) {}
    }
}
