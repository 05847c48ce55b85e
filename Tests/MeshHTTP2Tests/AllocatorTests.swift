import CNGHTTP2
import MeshTestSupport
import NIOCore
import NIOPosix
import Testing

@testable import MeshHTTP2

/// nghttp2's per-session allocator (`cnghttp2_pool` in the CNGHTTP2 shim, `NGHTTP2Allocator`):
/// blocks come back from its free lists, contents survive a realloc, and a session's blocks are
/// all returned when the session is deleted.
@Suite struct AllocatorTests {
    private static func allocate(_ pool: UnsafeMutablePointer<cnghttp2_pool>, _ size: Int) throws -> UnsafeMutableRawPointer {
        try #require(cnghttp2_pool_malloc(size, pool))
    }

    @Test func aFreedBlockIsHandedOutAgainForTheSameSizeClass() throws {
        let pool = try #require(cnghttp2_pool_new())
        let first = try Self.allocate(pool, 100)
        cnghttp2_pool_free(first, pool)
        // 100 and 120 bytes share the 128-byte class; 200 does not.
        let second = try Self.allocate(pool, 120)
        let other = try Self.allocate(pool, 200)
        #expect(second == first)
        #expect(other != first)
        #expect(pool.pointee.reused == 1)
        #expect(pool.pointee.live == 2)
        cnghttp2_pool_free(second, pool)
        cnghttp2_pool_free(other, pool)
        #expect(cnghttp2_pool_del(pool) == 0)
    }

    @Test func blocksOfEverySizeHoldTheirBytesAndLargeOnesBypassTheLists() throws {
        let pool = try #require(cnghttp2_pool_new())
        let sizes = [0, 1, 31, 32, 33, 64, 65, 1000, 2047, 2048, 2049, 70_000]
        var blocks: [UnsafeMutableRawPointer] = []
        for (index, size) in sizes.enumerated() {
            let block = try Self.allocate(pool, size)
            #expect(Int(bitPattern: block) % 16 == 0, "block for \(size) bytes is not 16-byte aligned")
            block.initializeMemory(as: UInt8.self, repeating: UInt8(index), count: size)
            blocks.append(block)
        }
        for (index, size) in sizes.enumerated() {
            let bytes = UnsafeRawBufferPointer(start: blocks[index], count: size)
            #expect(bytes.allSatisfy { $0 == UInt8(index) }, "block for \(size) bytes was overwritten")
        }
        #expect(pool.pointee.live == sizes.count)
        for block in blocks { cnghttp2_pool_free(block, pool) }
        let again = try Self.allocate(pool, 70_000)
        #expect(pool.pointee.reused == 0, "a block over 2 KiB came from a free list")
        cnghttp2_pool_free(again, pool)
        #expect(cnghttp2_pool_del(pool) == 0)
    }

    @Test func reallocKeepsTheContentsAcrossClassesAndIntoMalloc() throws {
        let pool = try #require(cnghttp2_pool_new())
        var block = try Self.allocate(pool, 40)
        for index in 0..<40 { block.storeBytes(of: UInt8(index), toByteOffset: index, as: UInt8.self) }
        let sameClass = try #require(cnghttp2_pool_realloc(block, 60, pool))
        #expect(sameClass == block, "a realloc within the 64-byte class moved the block")
        block = try #require(cnghttp2_pool_realloc(sameClass, 500, pool))
        block = try #require(cnghttp2_pool_realloc(block, 10_000, pool))
        block = try #require(cnghttp2_pool_realloc(block, 100_000, pool))
        let bytes = UnsafeRawBufferPointer(start: block, count: 40)
        #expect(Array(bytes) == Array(0..<40))
        #expect(pool.pointee.live == 1)
        cnghttp2_pool_free(block, pool)

        let zeroed = try #require(cnghttp2_pool_calloc(10, 12, pool))
        #expect(UnsafeRawBufferPointer(start: zeroed, count: 120).allSatisfy { $0 == 0 })
        cnghttp2_pool_free(zeroed, pool)
        #expect(cnghttp2_pool_calloc(Int.max, 2, pool) == nil, "an overflowing calloc did not fail")
        #expect(cnghttp2_pool_del(pool) == 0)
    }

    @Test func freeListsAreBoundedAndTrimmedToTheIdleAllowance() throws {
        let pool = try #require(cnghttp2_pool_new())
        // The 64-byte class keeps 1024 free blocks (64 KiB), 256 (16 KiB) after a trim.
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<1100 { blocks.append(try Self.allocate(pool, 60)) }
        for block in blocks { cnghttp2_pool_free(block, pool) }
        #expect(pool.pointee.cached.1 == 1024)
        #expect(cnghttp2_pool_trim(pool) == 1024 - 256)
        #expect(pool.pointee.cached.1 == 256)
        #expect(cnghttp2_pool_trim(pool) == 0)
        let again = try Self.allocate(pool, 64)
        #expect(pool.pointee.reused == 1, "a trimmed list no longer serves blocks")
        cnghttp2_pool_free(again, pool)
        #expect(cnghttp2_pool_del(pool) == 0)
    }

    @Test func aSessionReusesBlocksAndReturnsThemAllWhenDeleted() async throws {
        try await withAnswerServer(mode: .http2Only) { server in
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            do {
                let channel = try await ClientBootstrap(group: group)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(HTTP2ClientConnection())
                        }
                    }
                    .connect(host: "127.0.0.1", port: server.port)
                    .get()
                let session = try await channel.eventLoop.submit {
                    let connection = try channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self)
                    return NIOLoopBound(try #require(connection.core), eventLoop: channel.eventLoop)
                }.get()
                for _ in 0..<20 {
                    let response = try await channel.eventLoop.flatSubmit {
                        do {
                            let connection = try channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self)
                            return try connection.sendRequest(HTTP2RequestHead(method: "GET", authority: "localhost", path: "/echo"))
                        } catch {
                            return channel.eventLoop.makeFailedFuture(error)
                        }
                    }.get()
                    #expect(response.head.status == 200)
                }
                let reused = try await channel.eventLoop.submit { session.value.allocatorReuseCount }.get()
                #expect(reused > 20, "streams after the first did not reuse nghttp2's blocks")

                // 200 streams at once leave more than the idle allowance (16 KiB per class) in a
                // free list; a second after the last one closed, the session trims it.
                let burst = try await channel.eventLoop.flatSubmit {
                    do {
                        let connection = try channel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self)
                        let responses = try (0..<200).map { _ in
                            try connection.sendRequest(HTTP2RequestHead(method: "GET", authority: "localhost", path: "/echo"))
                        }
                        // The free lists are read on the loop as the last answer arrives: a
                        // second submit could come after the trim on a loaded machine.
                        return EventLoopFuture.whenAllSucceed(responses, on: channel.eventLoop).map { responses in
                            (responses, session.value.allocator.largestFreeListBytes)
                        }
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }.get()
                let (responses, peak) = burst
                #expect(responses.count == 200 && responses.allSatisfy { $0.head.status == 200 })
                #expect(peak > 16 * 1024, "the burst left only \(peak) bytes in the longest free list")
                let deadline = ContinuousClock.now + .seconds(10)
                var trimmed = peak
                while trimmed > 16 * 1024 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    trimmed = try await channel.eventLoop.submit { session.value.allocator.largestFreeListBytes }.get()
                }
                #expect(trimmed <= 16 * 1024, "an idle session still holds \(trimmed) bytes in one free list")
                try await channel.close()
                let left = try await channel.eventLoop.submit { session.value.allocatorBlocksLeftAtDelete }.get()
                #expect(left == 0)
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
            try await group.shutdownGracefully()
        }
    }
}
