import MeshHTTP2
import NIOCore
import NIOPosix

/// One HTTP/2 connection of a run, shared by its lanes (`ConnectionSlot`s, one stream each):
/// connects when a lane first needs it, reconnects after the server closes it, and closes when
/// every lane has finished. Confined to its worker's event loop.
final class HTTP2LoadSession: HTTP2ClientConnectionDelegate {
    // unowned(unsafe): the worker owns its slots, which own their session.
    private unowned(unsafe) let worker: LoopWorker
    private var client: HTTP2ClientConnection?
    private var channel: (any Channel)?
    private var connecting = false
    /// Lanes with a claimed request waiting for the connection.
    private var waiting: [ConnectionSlot] = []
    var members = 0
    private var finishedMembers = 0

    init(worker: LoopWorker) {
        self.worker = worker
    }

    /// Sends the lane's claimed request now, or once connected.
    func send(for slot: ConnectionSlot) {
        guard let request = slot.unsentRequest else { return }
        guard let client, client.isAcceptingStreams else {
            if !waiting.contains(where: { $0 === slot }) { waiting.append(slot) }
            if client != nil { drop() }
            connect()
            return
        }
        do {
            try slot.sendStream(on: client, request: request)
            slot.markSent(now: uptimeNanos())
        } catch {
            // GOAWAY raced this lane: a fresh connection takes the request.
            waiting.append(slot)
            drop()
            connect()
        }
    }

    /// Cancels a lane's stream (timeout, or the lane finished); the connection stays.
    func cancel(_ stream: HTTP2StreamID) {
        try? client?.resetStream(stream, code: .cancel)
    }

    func memberFinished() {
        finishedMembers += 1
        waiting.removeAll { $0.done }
        if finishedMembers == members {
            // GOAWAY after the resets already queued; the channel closes once nothing is open.
            client?.delegate = nil
            client?.close()
            client = nil
            channel = nil
        }
    }

    private func connect() {
        guard !connecting, finishedMembers < members else { return }
        connecting = true
        let plan = worker.plan
        let loop = worker.eventLoop
        ClientBootstrap(group: loop)
            .connectTimeout(plan.connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP2ClientConnection())
                }
            }
            .connect(to: plan.address)
            .assumeIsolated()
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    // NIO completes the connect before channelActive; the codec opens streams
                    // once active, so go on from the next tick.
                    loop.assumeIsolated().execute { [self] in connected(channel) }
                case .failure:
                    connecting = false
                    let failed = waiting
                    waiting.removeAll()
                    for slot in failed { slot.sessionConnectFailed() }
                }
            }
    }

    private func connected(_ newChannel: any Channel) {
        connecting = false
        guard finishedMembers < members, newChannel.isActive,
              let newClient = try? newChannel.pipeline.syncOperations.handler(type: HTTP2ClientConnection.self)
        else {
            newChannel.close(promise: nil)
            let failed = waiting
            waiting.removeAll()
            for slot in failed { slot.sessionConnectFailed() }
            return
        }
        newClient.delegate = self
        client = newClient
        channel = newChannel
        let ready = waiting
        waiting.removeAll()
        for slot in ready { send(for: slot) }
    }

    private func drop() {
        client?.delegate = nil
        client = nil
        channel?.close(promise: nil)
        channel = nil
    }

    func connectionClosed(_ connection: HTTP2ClientConnection) {
        guard connection === client else { return }
        // Its open streams are reported reset (`.connectionClosed`) to their lanes, which send
        // their next requests through `send(for:)` and so reconnect.
        client = nil
        channel = nil
    }
}
