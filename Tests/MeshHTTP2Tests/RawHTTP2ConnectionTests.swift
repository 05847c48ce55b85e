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
        let squatter = DescriptorSquatter()
        squatter.start()
        var refused = 0
        for _ in 0..<20_000 {
            if (try? RawHTTP2Connection(port: refusing.port)) == nil { refused += 1 }
            if squatter.lostDescriptor != nil { break }
        }
        squatter.stop()
        #expect(await squatter.waitUntilStopped(timeout: .seconds(10)))
        #expect(refused > 0)
        #expect(squatter.lostDescriptor == nil, "a descriptor of another thread was closed under it")
    }
}
