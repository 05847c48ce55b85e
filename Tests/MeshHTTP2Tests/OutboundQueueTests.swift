import NIOCore
import Testing

@testable import MeshHTTP2

/// The per-stream queue `sendData` drains: a chunk is taken out, and what is left of it goes
/// back in front of the chunks behind it.
@Suite struct OutboundQueueTests {
    static func chunk(_ text: String) -> OutboundChunk {
        OutboundChunk(bytes: ByteBuffer(string: text), promise: nil)
    }

    static func drain(_ queue: inout OutboundQueue) -> [String] {
        var texts: [String] = []
        while let chunk = queue.takeFirst() { texts.append(String(buffer: chunk.bytes)) }
        return texts
    }

    @Test func chunksComeOutInTheOrderTheyWentIn() {
        var queue = OutboundQueue()
        for text in ["a", "b", "c"] { queue.append(Self.chunk(text)) }
        #expect(Self.drain(&queue) == ["a", "b", "c"])
        #expect(queue.isEmpty)
    }

    @Test func aPartlySentChunkGoesBackInFrontOfTheRest() {
        var queue = OutboundQueue()
        for text in ["abc", "d", "e"] { queue.append(Self.chunk(text)) }
        guard var first = queue.takeFirst() else {
            Issue.record("empty queue")
            return
        }
        _ = first.bytes.readSlice(length: 1)
        queue.putBackFirst(first)
        #expect(Self.drain(&queue) == ["bc", "d", "e"])

        // With only the taken chunk behind the head (the rest's storage emptied when it moved up).
        for text in ["fg", "h"] { queue.append(Self.chunk(text)) }
        guard var again = queue.takeFirst() else {
            Issue.record("empty queue")
            return
        }
        _ = again.bytes.readSlice(length: 1)
        queue.putBackFirst(again)
        queue.append(Self.chunk("i"))
        #expect(Self.drain(&queue) == ["g", "h", "i"])
    }
}
