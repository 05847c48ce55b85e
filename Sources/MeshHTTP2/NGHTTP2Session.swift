import CNGHTTP2
import NIOCore
import NIOHTTP1

/// What the session reports upward; implemented by the server and client connection handlers.
protocol NGHTTP2SessionEvents: AnyObject {
    /// A complete request head (server) or final response head (client).
    func sessionReceivedHead(_ stream: HTTP2StreamState, endStream: Bool)
    func sessionReceivedBody(_ stream: HTTP2StreamState, _ chunk: ByteBuffer)
    func sessionReceivedEnd(_ stream: HTTP2StreamState, trailers: HTTPHeaders?)
    /// The stream left the session. `reset` is nil when both sides finished normally.
    func sessionClosedStream(_ stream: HTTP2StreamState, reset: HTTP2StreamReset?)
    /// A header block over the configured limits finished decoding.
    func sessionReceivedOversizedHeaders(_ stream: HTTP2StreamState)
    func sessionStreamIdleTimedOut(_ stream: HTTP2StreamState)
    func sessionStreamWritabilityChanged(_ stream: HTTP2StreamState)
    func sessionReceivedGoAway(lastStreamID: Int32, errorCode: HTTP2ErrorCode)
    func sessionReceivedSettings()
    func sessionReceivedPingAck()
    /// A malformed HTTP message ended the connection (GOAWAY PROTOCOL_ERROR is on its way).
    func sessionReceivedMalformedMessage()
}

/// One `nghttp2_session` bound to one NIO channel: feeds it input, drains its output with
/// backpressure and keeps per-stream state. All methods run on the channel's event loop.
/// The hot stored properties skip dynamic exclusivity checks (see HTTP2StreamState).
final class NGHTTP2Session {
    enum Role { case server, client }

    let role: Role
    let configuration: HTTP2Configuration
    private(set) var session: OpaquePointer?
    /// nghttp2's memory (free lists per size class); released right after the session.
    var allocator: NGHTTP2Allocator
    var allocatorTrim: Scheduled<Void>?
    /// Allocator blocks still handed out when the session was deleted: 0 unless memory leaked.
    private(set) var allocatorBlocksLeftAtDelete: Int?
    /// The handler that owns this session. Unchecked: the handler closes the session in
    /// `handlerRemoved` (which NIO calls before it lets go of the handler), and a closed session
    /// reports nothing (`isClosed`, no context, no streams); a checked `unowned` costs an atomic
    /// operation per event.
    unowned(unsafe) let events: any NGHTTP2SessionEvents
    /// The same handler as its concrete type, lent to each hot call without a retain
    /// (`withEvents`): loading `events` for a call made a strong copy, a retain and a release
    /// per event (about six per proxied request). Unmanaged for the same reason `events` is
    /// unchecked, and read only while it is. Nil for another conformer (then `events` serves).
    private let lentEvents: LentEvents?

    private enum LentEvents {
        case server(Unmanaged<HTTP2ServerConnection>)
        case client(Unmanaged<HTTP2ClientConnection>)
    }
    @exclusivity(unchecked) var streams = HTTP2StreamTable<HTTP2StreamState>()
    /// Storage for the header blocks this session submits, reused for each.
    let headerBlock = HeaderBlock()
    /// The header block being received, collected before it goes to its stream.
    @exclusivity(unchecked) var inboundBlock = InboundHeaderBlock()
    /// Storage of a head the application handed back (`reuseFieldStorage` of either connection
    /// handler), filled by the next head instead of allocating.
    @exclusivity(unchecked) var spareFields: HeaderFields?

    /// Keeps `fields` as `spareFields`. The slot is nil here (the last head took the spare): stored
    /// in a branch that knows it, where a plain assignment released that nil.
    func keepSpareFields(_ fields: consuming HeaderFields) {
        if self.spareFields == nil { self.spareFields = fields } else { self.spareFields = fields }
    }
    /// The stream of the previous lookup (and its id; 0 for none): frames and header fields of one
    /// stream come in runs, so this spares most table searches. Unmanaged: it is only ever a
    /// stream `streams` holds (removing one clears the cache), and a strong reference cost a
    /// retain each time it changed, a release each time it went, and one per read in place.
    @exclusivity(unchecked) private var lastStream: Unmanaged<HTTP2StreamState>?
    @exclusivity(unchecked) private var lastStreamID: Int32 = 0
    /// Objects of closed streams that nothing else referenced, reset and handed to new streams:
    /// each stream otherwise cost a malloc and a free (two per proxied request, one per session).
    @exclusivity(unchecked) private var spareStreams: [HTTP2StreamState] = []
    /// At most this many spares are kept (a burst of closes beyond it frees the rest): enough
    /// for a client session's peer limit (nghttp2's default is 100 streams), where a smaller
    /// cap had a third of the streams allocate again as the open count swung.
    private static let maxSpareStreams = 256
    /// Spares kept once the session idles (the allocator trim).
    private static let idleSpareStreams = 16

    /// The handler's context while it is in the pipeline; output is written through it.
    var context: ChannelHandlerContext?
    @exclusivity(unchecked) var pendingOutput: ByteBuffer
    /// Promises of body bytes copied into `pendingOutput`, completed when it is written.
    @exclusivity(unchecked) var pendingOutputPromises: [EventLoopPromise<Void>] = []
    @exclusivity(unchecked) private var isFlushing = false
    @exclusivity(unchecked) private var flushRequestedWhileFlushing = false
    /// close() arrived while nghttp2 was on the stack (a callback closed the channel).
    private var deleteSessionWhenIdle = false
    /// The streams close() dropped while nghttp2 was on the stack, kept alive until it returns:
    /// the callbacks use their stream lent (`lent(_:)`), and may have called the code that closed.
    private var streamsDroppedWhileBusy: [HTTP2StreamState] = []
    @exclusivity(unchecked) private(set) var isReceiving = false
    /// nghttp2 is on the stack (feeding input or serialising output).
    var isBusy: Bool { self.isReceiving || self.isFlushing }
    @exclusivity(unchecked) private var flushScheduled = false
    /// Whether something was written to the channel since its last flush: a flush with nothing
    /// new to send skips `context.flush()`, which still walks the pipeline down to the socket
    /// (two channel-state checks, each a retain and a release) for nothing. Most reads of a
    /// proxied connection leave nothing to answer on it.
    @exclusivity(unchecked) var hasUnflushedWrites = false
    private var isTerminating = false
    private(set) var isClosed = false

    /// The peer's SETTINGS_MAX_CONCURRENT_STREAMS as nghttp2 holds it, and the id nghttp2 gives
    /// the next stream this side opens: kept here for the checks before each stream is opened
    /// (a client's `isAcceptingStreams`, `maxConcurrentStreams`), which asked nghttp2 twice per
    /// stream, four calls per proxied request with the pool's own check. The limit is read again
    /// wherever nghttp2 may change it (a SETTINGS frame received, the end of each `mem_recv`); the
    /// id moves by two with each request submitted, as nghttp2 moves it.
    @exclusivity(unchecked) private(set) var peerMaxConcurrentStreams: UInt32 = 0
    @exclusivity(unchecked) var nextStreamID: UInt32 = 0

    /// The buffer being fed to `mem_recv`; DATA payloads inside it are delivered as slices.
    @exclusivity(unchecked) private var inboundBuffer: ByteBuffer?
    @exclusivity(unchecked) private var inboundBase: UnsafeRawPointer?

    // Statistics the tests and operators read.
    @exclusivity(unchecked) var outboundQueuedBytes = 0
    @exclusivity(unchecked) var maxOutboundQueuedBytes = 0
    var goAwaySent = false
    var goAwayReceived = false
    /// Set when this side ends the connection because the peer broke the protocol (a GOAWAY
    /// with an error code): the streams still open end with it as `.protocolError` resets.
    var protocolErrorCode: HTTP2ErrorCode?

    // Limits (NGHTTP2Session+Limits.swift).
    var resetLimiter: ResetRateLimiter
    var idleSweep: Scheduled<Void>?

    init(
        role: Role,
        configuration: HTTP2Configuration,
        events: any NGHTTP2SessionEvents,
        allocator: ByteBufferAllocator
    )
        throws
    {
        self.role = role
        self.configuration = configuration
        self.events = events
        if let server = events as? HTTP2ServerConnection {
            self.lentEvents = .server(Unmanaged.passUnretained(server))
        } else if let client = events as? HTTP2ClientConnection {
            self.lentEvents = .client(Unmanaged.passUnretained(client))
        } else {
            self.lentEvents = nil
        }
        self.pendingOutput = allocator.buffer(capacity: 4096)
        self.resetLimiter = ResetRateLimiter(burst: configuration.resetBurst, ratePerSecond: configuration.resetRatePerSecond)
        self.allocator = try NGHTTP2Allocator()

        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else {
            throw HTTP2CodecError.library(code: NGHTTP2_ERR_NOMEM.rawValue, message: "out of memory")
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        NGHTTP2Callbacks.install(on: callbacks)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else {
            throw HTTP2CodecError.library(code: NGHTTP2_ERR_NOMEM.rawValue, message: "out of memory")
        }
        defer { nghttp2_option_del(option) }
        // The application returns window with consume(), so a slow consumer slows the sender.
        nghttp2_option_set_no_auto_window_update(option, 1)
        nghttp2_option_set_no_closed_streams(option, 1)
        nghttp2_option_set_max_outbound_ack(option, configuration.maxOutboundAcks)
        nghttp2_option_set_max_settings(option, configuration.maxSettingsEntries)
        _ = cnghttp2_option_set_max_continuations(option, configuration.maxContinuations)
        switch role {
        case .server:
            // Backstop only: meshsim's own bucket (half these values) trips first.
            _ = cnghttp2_option_set_stream_reset_rate_limit(
                option,
                UInt64(configuration.resetBurst * 2),
                UInt64(configuration.resetRatePerSecond * 2)
            )
        case .client:
            nghttp2_option_set_peer_max_concurrent_streams(option, configuration.assumedPeerMaxConcurrentStreams)
        }

        let userData = Unmanaged.passUnretained(self).toOpaque()
        var created: OpaquePointer?
        let rv =
            role == .server
            ? nghttp2_session_server_new3(&created, callbacks, userData, option, self.allocator.mem)
            : nghttp2_session_client_new3(&created, callbacks, userData, option, self.allocator.mem)
        guard rv == 0, let created else { throw NGHTTP2Session.error(rv) }
        self.session = created
        self.nextStreamID = nghttp2_session_get_next_stream_id(created)
        self.readPeerSettings()
    }

    /// Reads the peer's stream limit again (see `peerMaxConcurrentStreams`).
    func readPeerSettings() {
        guard let session else { return }
        self.peerMaxConcurrentStreams = nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
    }

    deinit {
        if let session { nghttp2_session_del(session) }  // before the allocator goes
    }

    /// Calls `body` with the handler the events go to, without retaining it for the call.
    @inline(__always)
    func withEvents(_ body: (any NGHTTP2SessionEvents) -> Void) {
        switch self.lentEvents {
        case .server(let server)?: server._withUnsafeGuaranteedRef { body($0) }
        case .client(let client)?: client._withUnsafeGuaranteedRef { body($0) }
        case nil: body(self.events)
        }
    }

    /// Stream `id`, lent without a retain (the cache set to it). For nghttp2's callbacks: during
    /// one, every stream the table held stays alive (only `onStreamClose`, itself a callback,
    /// removes one, and `close()` keeps the streams it drops until nghttp2 returns), so a callback
    /// may use the stream for its whole length. A retained lookup cost a retain and a release per
    /// callback, several per request. (The handlers' calls use it through `withStream`.)
    @inline(__always)
    func lent(_ id: Int32) -> Unmanaged<HTTP2StreamState>? {
        if self.lastStreamID == id, let last = self.lastStream { return last }
        guard let found = self.streams[id] else { return nil }
        let lent = Unmanaged.passUnretained(found)
        self.lastStream = lent
        self.lastStreamID = id
        return lent
    }

    /// Adds a stream the peer opened (a new id) and makes it the cached one: the frame's
    /// end (`onFrameReceived`) comes next and finds it without a table search.
    func insertReceivedStream(_ stream: consuming HTTP2StreamState) {
        let id = stream.id
        self.lastStream = Unmanaged.passUnretained(stream)
        self.lastStreamID = id
        self.streams.insertNew(consume stream, for: id)
    }

    func lookup(_ id: Int32) -> HTTP2StreamState? {
        if self.lastStreamID == id, let last = self.lastStream { return last.takeUnretainedValue() }
        let found = self.streams[id]
        if let found {
            self.lastStream = Unmanaged.passUnretained(found)
            self.lastStreamID = id
        }
        return found
    }

    /// A state object for new stream `id`: a spare one reset, or a new one.
    func makeStream(id: Int32) -> HTTP2StreamState {
        guard let spare = self.spareStreams.popLast() else { return HTTP2StreamState(id: id) }
        spare.reuse(id: id)
        return spare
    }

    /// Keeps a closed stream's object for a later stream when the caller held the last
    /// reference to it (an application that still holds one keeps it to itself).
    func recycle(_ stream: consuming HTTP2StreamState) {
        var stream = stream
        guard self.spareStreams.count < Self.maxSpareStreams, isKnownUniquelyReferenced(&stream) else { return }
        self.spareStreams.append(consume stream)
    }

    /// Frees the spares beyond what an idle session keeps.
    func trimSpareStreams() {
        if self.spareStreams.count > Self.idleSpareStreams { self.spareStreams.removeSubrange(Self.idleSpareStreams...) }
    }

    func removeStream(_ id: Int32) -> HTTP2StreamState? {
        if self.lastStreamID == id {
            self.lastStream = nil
            self.lastStreamID = 0
        }
        let removed = self.streams.removeValue(forKey: id)
        if self.streams.isEmpty { self.scheduleAllocatorTrim() }
        return removed
    }

    /// Whether stream `id` is open to the application and under its high watermark: read in place
    /// (`stream(_:)` hands out a retained reference and throws for an unknown stream).
    func isWritable(_ id: HTTP2StreamID) -> Bool {
        if self.lastStreamID == id.value, let last = self.lastStream {
            return last._withUnsafeGuaranteedRef { !$0.detached && $0.isWritable }
        }
        guard let stream = self.lookup(id.value) else { return false }
        return !stream.detached && stream.isWritable
    }

    /// Takes up to `count` of stream `id`'s unconsumed bytes. The stream is read in place, with no
    /// call while it is held: a reference kept across the calls above cost a retain and a release.
    func takeUnconsumed(_ id: Int32, upTo count: Int) -> Int {
        if self.lastStreamID == id, let last = self.lastStream {
            return last._withUnsafeGuaranteedRef { last in
                let returned = min(count, last.unconsumedBytes)
                if returned > 0 { last.unconsumedBytes -= returned }
                return returned
            }
        }
        guard let stream = self.lookup(id) else { return 0 }
        let returned = min(count, stream.unconsumedBytes)
        guard returned > 0 else { return 0 }
        stream.unconsumedBytes -= returned
        return returned
    }

    static func error(_ code: Int32) -> HTTP2CodecError {
        .library(code: code, message: String(cString: nghttp2_strerror(code)))
    }

    /// Queues the initial SETTINGS and enlarges the connection receive window.
    /// A session for a handler just added to `context`'s pipeline, its SETTINGS submitted.
    static func started(
        role: Role, configuration: HTTP2Configuration, events: any NGHTTP2SessionEvents, context: ChannelHandlerContext
    ) throws -> NGHTTP2Session {
        let core = try NGHTTP2Session(role: role, configuration: configuration, events: events, allocator: context.channel.allocator)
        core.context = context
        try core.start()
        return core
    }

    /// Serialises and writes what is pending once the channel can take it again.
    func writabilityChanged(isWritable: Bool) {
        if isWritable { self.flush() }
    }

    func start() throws {
        guard let session else { return }
        var settings: [nghttp2_settings_entry] = [
            .init(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue),
                value: self.configuration.maxConcurrentStreams
            ),
            .init(
                settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue),
                value: UInt32(self.configuration.initialStreamWindowSize)
            ),
            .init(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue),
                value: UInt32(self.configuration.maxFrameSize)
            ),
            .init(
                settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue),
                value: UInt32(self.configuration.maxHeaderListSize)
            ),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES.rawValue), value: 1),
        ]
        if self.role == .client {
            settings.append(.init(settings_id: Int32(NGHTTP2_SETTINGS_ENABLE_PUSH.rawValue), value: 0))
        }
        var rv = nghttp2_submit_settings(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), settings, settings.count)
        guard rv == 0 else { throw Self.error(rv) }
        rv = nghttp2_session_set_local_window_size(
            session,
            UInt8(NGHTTP2_FLAG_NONE.rawValue),
            0,
            self.configuration.connectionWindowSize
        )
        guard rv == 0 else { throw Self.error(rv) }
    }

    /// Deletes the session (handlerRemoved); streams still open are reported closed.
    func close() {
        guard !self.isClosed else { return }
        self.isClosed = true
        self.idleSweep?.cancel()
        self.idleSweep = nil
        self.allocatorTrim?.cancel()
        self.allocatorTrim = nil
        let open = self.streams.values.sorted { $0.id < $1.id }
        self.streams.removeAll()
        self.lastStream = nil
        self.lastStreamID = 0
        for stream in open {
            self.failQueuedWrites(stream, error: ChannelError.ioOnClosedChannel)
            if !stream.detached {
                self.events.sessionClosedStream(
                    stream,
                    reset: self.protocolErrorCode.map { HTTP2StreamReset(code: $0, origin: .protocolError) }
                        ?? HTTP2StreamReset(code: .cancel, origin: .connectionClosed)
                )
            }
        }
        for promise in self.pendingOutputPromises { promise.fail(ChannelError.ioOnClosedChannel) }
        self.pendingOutputPromises.removeAll()
        if self.isBusy {
            self.deleteSessionWhenIdle = true  // nghttp2 is on the stack; free it once it returns.
            self.streamsDroppedWhileBusy = open
        } else {
            self.deleteSession()
        }
        self.context = nil
    }

    private func deleteSession() {
        self.deleteSessionWhenIdle = false
        if let session { nghttp2_session_del(session) }
        self.session = nil
        self.streamsDroppedWhileBusy = []
        if let left = self.allocator.release() { self.allocatorBlocksLeftAtDelete = left }
    }

    // MARK: Input

    /// Feeds bytes read from the socket. Returns false when the connection must close.
    func receive(_ buffer: ByteBuffer) -> Bool {
        guard let session, !self.isClosed else { return false }
        HTTP2StreamState.fill(&self.inboundBuffer, with: buffer)  // nil between reads: no release of it
        self.isReceiving = true
        let result = buffer.withUnsafeReadableBytes { raw -> Int in
            self.inboundBase = raw.baseAddress
            return nghttp2_session_mem_recv(session, raw.bindMemory(to: UInt8.self).baseAddress, raw.count)
        }
        self.isReceiving = false
        self.inboundBuffer = nil
        self.inboundBase = nil
        // Settings change only in mem_recv; a SETTINGS frame nghttp2 refused may have changed
        // them without the frame callback that reads them.
        self.readPeerSettings()
        if self.deleteSessionWhenIdle {
            self.deleteSession()
            return false
        }
        if result < 0 {
            self.terminateAfterFatalError(Int32(result))
            return false
        }
        return true
    }

    /// A slice of the buffer being received when `pointer` lies inside it, else a copy.
    func inboundSlice(_ pointer: UnsafePointer<UInt8>, count: Int) -> ByteBuffer {
        // The buffer is moved out for the slice and back (a copy cost a retain and a release).
        if let base = self.inboundBase, let buffer = self.inboundBuffer.take() {
            let offset = UnsafeRawPointer(pointer) - base
            let slice =
                offset >= 0 && offset + count <= buffer.readableBytes
                ? buffer.getSlice(at: buffer.readerIndex + offset, length: count) : nil
            HTTP2StreamState.fill(&self.inboundBuffer, with: buffer)
            if let slice { return slice }
        }
        var copy = ByteBufferAllocator().buffer(capacity: count)
        copy.writeBytes(UnsafeRawBufferPointer(start: pointer, count: count))
        return copy
    }

    /// After `mem_recv` failed: a GOAWAY with the fitting code, then close.
    private func terminateAfterFatalError(_ code: Int32) {
        // The flush below may fail the same way; one termination is enough.
        guard let session, !self.isTerminating else { return }
        self.isTerminating = true
        let errorCode: HTTP2ErrorCode
        switch code {
        case NGHTTP2_ERR_FLOODED.rawValue: errorCode = .enhanceYourCalm
        case NGHTTP2_ERR_BAD_CLIENT_MAGIC.rawValue: errorCode = .protocolError
        default: errorCode = .internalError
        }
        if self.protocolErrorCode == nil { self.protocolErrorCode = errorCode }
        _ = nghttp2_session_terminate_session(session, errorCode.rawValue)
        self.flush()
        if !self.goAwaySent {
            // A flooded session refuses to serialise more frames; say why by hand.
            self.appendGoAwayFrame(lastStreamID: nghttp2_session_get_last_proc_stream_id(session), errorCode: errorCode)
        }
        self.writePendingOutput()
        self.hasUnflushedWrites = false
        self.context?.flush()
        self.context?.close(promise: nil)
    }

    private func appendGoAwayFrame(lastStreamID: Int32, errorCode: HTTP2ErrorCode) {
        self.pendingOutput.writeBytes([0, 0, 8, UInt8(NGHTTP2_GOAWAY.rawValue), 0, 0, 0, 0, 0])
        self.pendingOutput.writeInteger(UInt32(bitPattern: lastStreamID) & 0x7fff_ffff)
        self.pendingOutput.writeInteger(errorCode.rawValue)
        self.goAwaySent = true
    }

    // MARK: Output

    /// Serialises what nghttp2 has queued while the channel is writable, then flushes.
    /// Closes the channel once nghttp2 wants neither to read nor to write (after GOAWAY).
    func flush() {
        // Inside mem_recv (a delegate reacting to an event) nghttp2 must not be re-entered; the
        // handler flushes on channelReadComplete.
        guard self.session != nil, !self.isReceiving, let context else { return }
        if self.isFlushing {
            // Re-entered, typically from channelWritabilityChanged inside context.flush():
            // the running pass goes round once more instead.
            self.flushRequestedWhileFlushing = true
            return
        }
        self.isFlushing = true
        // Looked up once: each `context.channel` retains and releases the channel.
        let channel = context.channel
        var passes = 0
        repeat {
            self.flushRequestedWhileFlushing = false
            passes += 1
            self.recycleOutputStorage()
            while let session = self.session, channel.isWritable {
                var data: UnsafePointer<UInt8>?
                let count = nghttp2_session_mem_send(session, &data)
                if count < 0 {
                    self.isFlushing = false
                    self.terminateAfterFatalError(Int32(count))
                    return
                }
                guard count > 0, let data else { break }
                self.pendingOutput.writeBytes(UnsafeRawBufferPointer(start: data, count: count))
                if self.pendingOutput.readableBytes >= 64 * 1024 { self.writePendingOutput() }
            }
            self.writePendingOutput()
            if self.hasUnflushedWrites {
                self.hasUnflushedWrites = false
                context.flush()  // May re-enter through writability or close the channel.
            }
        } while self.flushRequestedWhileFlushing && passes < 16 && self.session != nil
        self.isFlushing = false
        if self.flushRequestedWhileFlushing { self.scheduleFlush() }
        if self.deleteSessionWhenIdle { self.deleteSession() }
        if let session = self.session, nghttp2_session_want_read(session) == 0, nghttp2_session_want_write(session) == 0
        {
            context.close(promise: nil)
        }
    }

    /// Flushes now, or at the end of the current read burst when called from inside one
    /// (the handler flushes on channelReadComplete), or once per event-loop tick otherwise.
    func scheduleFlush() {
        guard !self.isReceiving, !self.flushScheduled, let context else { return }
        self.flushScheduled = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let session = loopBound.value
            session.flushScheduled = false
            session.flush()
        }
    }

    func writePendingOutput() {
        guard self.pendingOutput.readableBytes > 0, let context else { return }
        let promise: EventLoopPromise<Void>?
        switch self.pendingOutputPromises.count {
        case 0: promise = nil
        case 1: promise = self.pendingOutputPromises[0]
        default:
            let combined = context.eventLoop.makePromise(of: Void.self)
            for waiting in self.pendingOutputPromises { combined.futureResult.cascade(to: waiting) }
            promise = combined
        }
        self.pendingOutputPromises.removeAll(keepingCapacity: true)
        context.write(NIOAny(self.pendingOutput), promise: promise)
        self.hasUnflushedWrites = true
        // The storage stays: the channel holds the written bytes through its own copy of the
        // buffer (with its own indices), and ours is emptied. `recycleOutputStorage` reuses it
        // once the channel let go; a write before that copies on write, as a new buffer did.
        self.pendingOutput.moveReaderIndex(to: self.pendingOutput.writerIndex)
    }

    /// Output storage kept beyond this goes at the next flush (a burst of large frames grew it).
    private static let maxKeptOutputCapacity = 16 * 1024

    /// Starts a flush's output at the start of the storage the last one wrote, when the channel
    /// has written it out (nothing else references it; checked by `clear()`, which allocates
    /// otherwise): a new 4 KiB buffer per write cost a malloc and a free.
    private func recycleOutputStorage() {
        guard self.pendingOutput.readableBytes == 0 else { return }
        if self.pendingOutput.capacity > Self.maxKeptOutputCapacity {
            self.pendingOutput = ByteBufferAllocator().buffer(capacity: 4096)
        } else {
            self.pendingOutput.clear()
        }
    }
}
