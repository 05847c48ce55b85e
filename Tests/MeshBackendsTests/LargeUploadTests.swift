import Foundation
import MeshBackends
import MeshTestSupport
import Testing

/// Request bodies are counted as they stream through, never gathered: a large upload must not
/// grow the process by anything like its size.
@Suite struct LargeUploadTests {
    /// The resident set of this process in bytes (Linux), or nil where /proc is missing.
    static func residentBytes() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }

    @Test(.enabled(if: residentBytes() != nil, "needs /proc/self/status"))
    func chunkedUploadOf1GiBKeepsMemoryFlat() async throws {
        let size = 1 << 30
        try await withBackend { backend in
            let baseline = try #require(Self.residentBytes())
            let peak = PeakSampler()
            let sampler = Task {
                while !Task.isCancelled {
                    if let rss = Self.residentBytes() { peak.record(rss) }
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            let upload = "head -c \(size) /dev/zero | /usr/bin/curl -sS --max-time 170 -T - -H 'Expect:' http://127.0.0.1:\(backend.port)/echo"
            let output = try await ChildProcess.run("/bin/sh", ["-c", upload], timeout: .seconds(180))
            sampler.cancel()
            _ = await sampler.value
            #expect(output.status == 0, "\(output.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
            #expect(json["bodyBytes"] as? Int == size)
            #expect(json["method"] as? String == "PUT")
            #expect(backend.stats.requestBodyBytes == size)
            let growth = peak.value - baseline
            // Other suites run in this process at the same time and move the resident set by up to
            // ~300 MiB; buffering the body would grow it by the whole 1 GiB.
            #expect(growth < size / 2, "resident set grew by \(growth >> 20) MiB during a \(size >> 20) MiB upload")
        }
    }
}

final class PeakSampler: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    func record(_ value: Int) { lock.lock(); peak = max(peak, value); lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return peak }
}
