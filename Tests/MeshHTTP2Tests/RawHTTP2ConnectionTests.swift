import MeshTestSupport
import Testing

/// The hand-written client's own descriptor hygiene. A connect that fails (as `waitUntilListening`
/// sees many times while nghttpd starts) must close its socket exactly once: a second `close` of
/// the same number closes whatever another thread opened under it in between. That is how a full
/// run died with SIGILL: NIO accepted a connection under the number, and its `getsockname` on the
/// new socket failed with EBADF ("unacceptable errno 9", a precondition).
@Suite struct RawHTTP2ConnectionTests {
    @Test func aRefusedConnectClosesItsSocketOnceLeavingOtherThreadsDescriptorsOpen() async throws {
        let refusing = try RefusingPort()
        let port = refusing.port
        let watched = await DescriptorSquatter.refusedConnects(attempts: 5_000) { (try? RawHTTP2Connection(port: port)) != nil }
        #expect(watched.ended)
        #expect(watched.refused > 0)
        #expect(watched.lost == nil, "a descriptor of another thread was closed under it")
        withExtendedLifetime(refusing) {}
    }
}
