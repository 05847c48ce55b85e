import Foundation
import Testing

@testable import MeshHTTP2

/// Not a test: `scripts/bench-h2.sh` runs this (release build) to host the answer server on one
/// event loop while h2load drives it. Enabled only when MESHHTTP2_BENCH_DIR is set; it writes
/// `port` there and serves until a `stop` file appears (at most 30 minutes).
@Suite struct BenchmarkHarness {
    static let directory = ProcessInfo.processInfo.environment["MESHHTTP2_BENCH_DIR"]

    @Test(.enabled(if: Self.directory != nil)) func serveAnswerServerForBenchmark() async throws {
        guard let directory = Self.directory else { return }
        let stopFile = URL(fileURLWithPath: directory).appendingPathComponent("stop")
        try await withAnswerServer { server in
            try String(server.port).write(toFile: "\(directory)/port", atomically: true, encoding: .utf8)
            let deadline = ContinuousClock.now + .seconds(30 * 60)
            while !FileManager.default.fileExists(atPath: stopFile.path) && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
