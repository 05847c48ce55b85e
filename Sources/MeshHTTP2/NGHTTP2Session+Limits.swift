import NIOCore

/// The session's own defences beyond what nghttp2 enforces: a rate limit on the RST_STREAM
/// frames a peer sends, and the per-stream idle timeout.
extension NGHTTP2Session {
    /// Takes one token for a RST_STREAM received; false when the peer resets too fast.
    func takeResetToken() -> Bool {
        resetLimiter.take()
    }

    /// Starts the idle sweep if a timeout is configured and none is running.
    func scheduleIdleSweep() {
        guard self.idleSweep == nil, let timeout = self.configuration.streamIdleTimeout, let context else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        // Sweeping twice per timeout: a stream is idle when a whole interval passed without a frame.
        self.idleSweep = context.eventLoop.scheduleTask(in: .nanoseconds(timeout.nanoseconds / 2)) {
            loopBound.value.sweepIdleStreams()
        }
    }

    private func sweepIdleStreams() {
        self.idleSweep = nil
        guard !self.isClosed else { return }
        var idle: [HTTP2StreamState] = []
        var waiting = false
        for stream in self.streams.values where !stream.remoteEnded && !stream.detached {
            if stream.sawActivity {
                stream.sawActivity = false
                waiting = true
            } else {
                idle.append(stream)
            }
        }
        for stream in idle.sorted(by: { $0.id < $1.id }) { self.events.sessionStreamIdleTimedOut(stream) }
        if waiting { self.scheduleIdleSweep() }
        self.flush()
    }
}
