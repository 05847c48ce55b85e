import Testing

@testable import MeshHTTP2

/// `HTTP2SpareStreams` holds its objects by references retained by hand: it hands back the newest
/// first, keeps every object it was given (past its first growth too), and lets go of them on
/// `trim` and when it goes.
@Suite struct SpareStreamsTests {
    @Test func handsOutTheNewestFirstAndKeepsThemAlive() {
        var spares = HTTP2SpareStreams()
        var watched: [Weak] = []
        for id: Int32 in stride(from: 1, through: 79, by: 2) {  // 40: grows past its first 16
            let stream = HTTP2StreamState(id: id)
            watched.append(Weak(stream))
            spares.push(stream)
        }
        #expect(spares.count == 40)
        #expect(watched.allSatisfy { $0.object != nil })
        #expect(spares.pop()?.id == 79)
        #expect(spares.pop()?.id == 77)
        #expect(watched[39].object == nil && watched[38].object == nil)  // handed out, then dropped
        #expect(spares.count == 38)
    }

    @Test func trimAndDeinitLetGo() {
        var watched: [Weak] = []
        do {
            var spares = HTTP2SpareStreams()
            for id: Int32 in stride(from: 1, through: 39, by: 2) {
                let stream = HTTP2StreamState(id: id)
                watched.append(Weak(stream))
                spares.push(stream)
            }
            spares.trim(keeping: 4)
            #expect(spares.count == 4)
            #expect(watched.prefix(4).allSatisfy { $0.object != nil })
            #expect(watched.dropFirst(4).allSatisfy { $0.object == nil })
            #expect(spares.pop()?.id == 7)
        }
        #expect(watched.allSatisfy { $0.object == nil })
    }

    final class Weak {
        weak var object: HTTP2StreamState?
        init(_ object: HTTP2StreamState) { self.object = object }
    }
}
