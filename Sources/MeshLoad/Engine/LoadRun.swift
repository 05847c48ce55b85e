import Foundation
import NIOCore
import NIOPosix

/// A load run in progress. Start one with `LoadRun.start(_:)`, read `intervals` as they come,
/// then `await report`. `stop()` closes the send window early; requests in flight still finish.
///
/// ```swift
/// let run = try await LoadRun.start(configuration)
/// for await interval in run.intervals { print(interval.requestsPerSecond) }
/// let report = await run.report
/// ```
public final class LoadRun: Sendable {
    public let configuration: LoadConfiguration
    /// One value per `reportInterval`, then a last partial one; finishes when the run ends.
    public let intervals: AsyncStream<IntervalReport>
    private let control: AsyncStream<ControlEvent>.Continuation
    private let task: Task<LoadReport, Never>

    enum ControlEvent: Sendable {
        case tick
        case stop
        case forceStop
        case workerFinished
    }

    /// Validates the configuration, resolves the target and checks it accepts a connection,
    /// then starts sending. Throws `LoadInputError` (one line) when any of that fails.
    /// - Parameter eventLoopGroup: loops to run on; nil (the default) makes a group of
    ///   `configuration.threads` threads for this run and shuts it down at the end.
    public static func start(_ configuration: LoadConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil) async throws -> LoadRun {
        try configuration.validate()
        let target = configuration.target
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(target.host, port: target.port)
        } catch {
            throw LoadInputError("cannot resolve host \"\(target.host)\"")
        }
        let ownGroup: MultiThreadedEventLoopGroup? = eventLoopGroup == nil ? MultiThreadedEventLoopGroup(numberOfThreads: configuration.threads) : nil
        guard let group: any EventLoopGroup = eventLoopGroup ?? ownGroup else { throw LoadInputError("no event loop group") }
        let connectTimeout = TimeAmount.nanoseconds(Int64(min(configuration.requestTimeout.nanoseconds, 5_000_000_000)))
        do {
            let probe = try await ClientBootstrap(group: group).connectTimeout(connectTimeout).connect(to: address).get()
            try? await probe.close()
        } catch {
            try? await ownGroup?.shutdownGracefully()
            throw LoadInputError("cannot connect to \(target.authority) (\(address.ipAddress ?? target.host):\(target.port)): \(describe(error))")
        }
        return LoadRun(configuration: configuration, address: address, group: group, ownGroup: ownGroup, connectTimeout: connectTimeout)
    }

    /// Starts a run and waits for its report, handing each interval to `onInterval` as it comes.
    public static func run(
        _ configuration: LoadConfiguration, eventLoopGroup: (any EventLoopGroup)? = nil,
        onInterval: (@Sendable (IntervalReport) -> Void)? = nil
    ) async throws -> LoadReport {
        let run = try await start(configuration, eventLoopGroup: eventLoopGroup)
        return await withTaskCancellationHandler {
            for await interval in run.intervals { onInterval?(interval) }
            return await run.report
        } onCancel: {
            run.stop()
        }
    }

    /// Closes the send window now; the report follows once requests in flight finish.
    public func stop() {
        control.yield(.stop)
    }

    /// The final report (waits for the end of the run).
    public var report: LoadReport {
        get async { await task.value }
    }

    private init(
        configuration: LoadConfiguration, address: SocketAddress, group: any EventLoopGroup,
        ownGroup: MultiThreadedEventLoopGroup?, connectTimeout: TimeAmount
    ) {
        self.configuration = configuration
        let (intervals, intervalSink) = AsyncStream.makeStream(of: IntervalReport.self, bufferingPolicy: .bufferingNewest(100_000))
        let (events, control) = AsyncStream.makeStream(of: ControlEvent.self)
        self.intervals = intervals
        self.control = control
        let loops = Array(group.makeIterator()).prefix(max(1, configuration.threads))
        self.task = Task {
            let coordinator = RunCoordinator(
                configuration: configuration, address: address, loops: Array(loops), connectTimeout: connectTimeout,
                control: control, intervalSink: intervalSink)
            let report = await coordinator.run(events: events)
            intervalSink.finish()
            try? await ownGroup?.shutdownGracefully()
            return report
        }
    }

    static func describe(_ error: Error) -> String {
        if let io = error as? IOError {
            return String(cString: strerror(io.errnoCode)).lowercased()
        }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return "connect timed out"
        }
        if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
            return describe(first.error)
        }
        return "\(error)"
    }
}

/// Drives one run: starts a worker per event loop, samples them every interval, stops them at
/// the end, and builds the report.
struct RunCoordinator {
    let configuration: LoadConfiguration
    let address: SocketAddress
    let loops: [any EventLoop]
    let connectTimeout: TimeAmount
    let control: AsyncStream<LoadRun.ControlEvent>.Continuation
    let intervalSink: AsyncStream<IntervalReport>.Continuation

    func run(events: AsyncStream<LoadRun.ControlEvent>) async -> LoadReport {
        let plan = makePlan()
        let slotCount = configuration.activeLanes
        // HTTP/2 lanes of one connection stay on one loop: loops take whole connections.
        let streams = plan.streamsPerConnection
        let workerCount = min(loops.count, (slotCount + streams - 1) / streams)
        let control = self.control
        // Every worker is set up on its loop (its lanes claim their first requests there), and
        // only once all are do they start, from the loops themselves. The lanes share one
        // dispenser: a worker started later, when the others were sending already, could find
        // nothing left and never open its connections. And no await on the cooperative pool
        // comes between the plan's clock and the first send: on a busy machine one can take
        // seconds, which would eat into a timed run's send window.
        let setups = (0..<workerCount).map { w in
            let loop = loops[w]
            let indices = (0..<slotCount).filter { ($0 / streams) % workerCount == w }
            return loop.submit {
                let worker = LoopWorker(eventLoop: loop, plan: plan, slotIndices: indices) { control.yield(.workerFinished) }
                worker.claimFirstRequests()
                return NIOLoopBound(worker, eventLoop: loop)
            }
        }
        let allSetUp = EventLoopFuture.whenAllComplete(setups, on: loops[0])
        allSetUp.whenSuccess { results in
            for case .success(let worker) in results { worker.eventLoop.execute { worker.value.start() } }
        }
        var workers: [NIOLoopBound<LoopWorker>] = []
        for result in (try? await allSetUp.get()) ?? [] {
            switch result {
            case .success(let worker): workers.append(worker)
            case .failure: control.yield(.workerFinished)
            }
        }

        let interval = configuration.reportInterval.nanoseconds
        let ticker = Task {
            var tick: UInt64 = 1
            while !Task.isCancelled {
                let due = plan.runStart &+ tick &* interval
                let now = uptimeNanos()
                if due > now { try? await Task.sleep(nanoseconds: due - now) }
                if Task.isCancelled { break }
                control.yield(.tick)
                tick += 1
            }
        }
        // The backstop: whatever happens, the run ends shortly after its send window plus one timeout.
        let backstop: Task<Void, Never>? = plan.sendDeadline.map { deadline in
            Task {
                let due = deadline &+ plan.timeoutNanos &+ 1_000_000_000
                let now = uptimeNanos()
                if due > now { try? await Task.sleep(nanoseconds: due - now) }
                if !Task.isCancelled { control.yield(.forceStop) }
            }
        }

        var cumulative = RecorderSample()
        var finished = 0
        var intervalIndex = 0
        var lastTick = plan.runStart
        func emitInterval() async {
            let now = uptimeNanos()
            var sample = RecorderSample()
            for worker in workers {
                if let part = try? await worker.eventLoop.submit({ worker.value.recorder.takeSample() }).get() {
                    sample.merge(part)
                }
            }
            cumulative.merge(sample)
            let phase: IntervalReport.Phase =
                now <= plan.measureStart ? .warmup : (plan.sendDeadline.map { lastTick >= $0 } ?? false) ? .drain : .measure
            intervalSink.yield(
                ReportBuilder.interval(
                    index: intervalIndex, phase: phase, elapsedSeconds: Double(now &- plan.runStart) / 1e9,
                    intervalSeconds: Double(now &- lastTick) / 1e9, sample: sample, cumulative: cumulative))
            intervalIndex += 1
            lastTick = now
        }

        loop: for await event in events {
            switch event {
            case .tick:
                await emitInterval()
            case .stop:
                for worker in workers { worker.eventLoop.execute { worker.value.stopIssuing() } }
            case .forceStop:
                for worker in workers { worker.eventLoop.execute { worker.value.forceStop() } }
            case .workerFinished:
                finished += 1
                if finished >= workerCount { break loop }
            }
        }
        ticker.cancel()
        backstop?.cancel()
        let end = uptimeNanos()
        await emitInterval()
        let measured = end > plan.measureStart ? Double(end - plan.measureStart) / 1e9 : 0
        return ReportBuilder.final(configuration: configuration, threads: workerCount, sample: cumulative, measuredSeconds: measured)
    }

    private func makePlan() -> RunPlan {
        let classes = configuration.classes
        let requests = classes.map { requestClass in
            ByteBuffer(bytes: requestClass.encoded(authority: configuration.authority(for: requestClass), commonHeaders: configuration.commonHeaders))
        }
        var period: Double?
        if case .openLoop(let rate) = configuration.pacing { period = 1e9 / rate }
        let start = uptimeNanos()
        let measureStart = start &+ configuration.warmup.nanoseconds
        return RunPlan(
            address: address, requests: requests, isHead: classes.map { $0.method == "HEAD" },
            subsetHeader: configuration.subsetHeader, timeoutNanos: configuration.requestTimeout.nanoseconds,
            connectTimeout: connectTimeout, runStart: start, measureStart: measureStart,
            sendDeadline: configuration.duration.map { measureStart &+ $0.nanoseconds }, openLoopPeriod: period,
            totalSlots: configuration.activeLanes,
            tickets: TicketDispenser(classWeights: classes.map(\.weight), limit: configuration.requestLimit),
            http2Requests: configuration.httpVersion == .http2
                ? classes.map {
                    $0.http2Request(authority: configuration.authority(for: $0), commonHeaders: configuration.commonHeaders, grpc: configuration.grpc)
                }
                : nil,
            streamsPerConnection: configuration.httpVersion == .http2 ? configuration.streamsPerConnection : 1,
            grpc: configuration.grpc)
    }
}
