@testable import MeshProxy
import NIOCore
import Testing

@Suite struct GRPCMessageCounterTests {
    static func message(_ payload: [UInt8]) -> [UInt8] {
        let length = UInt32(payload.count)
        return [0, UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + payload
    }

    /// Three messages (one empty, one of 300 bytes whose length needs two bytes), split at every
    /// possible point into two chunks: always three.
    @Test func messagesAreCountedWhereverTheChunksSplitThem() {
        let stream = Self.message([1, 2, 3]) + Self.message([]) + Self.message([UInt8](repeating: 7, count: 300))
        for split in 0...stream.count {
            var counter = GRPCMessageCounter()
            counter.count(ByteBuffer(bytes: stream[..<split]))
            counter.count(ByteBuffer(bytes: stream[split...]))
            #expect(counter.messages == 3, "split at \(split)")
        }
    }

    @Test func aMessageIsCountedWhenItsPrefixBegins() {
        var counter = GRPCMessageCounter()
        counter.count(ByteBuffer(bytes: [0, 0, 0]))
        #expect(counter.messages == 1)
        counter.count(ByteBuffer(bytes: [0, 2, 9]))
        #expect(counter.messages == 1)
        counter.count(ByteBuffer(bytes: [9, 0]))
        #expect(counter.messages == 2)
    }
}
