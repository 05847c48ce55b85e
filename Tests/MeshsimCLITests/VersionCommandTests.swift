import Testing

@Suite struct VersionCommandTests {
    @Test func printsVersion() async throws {
        let output = try await MeshsimRunner.run(["version"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix("meshsim "))
    }

    /// The binary serves malloc from jemalloc (Package.swift links it into the executables),
    /// not glibc's allocator, whose slow path the proxy's per-request objects hit.
    @Test func reportsJemallocAsItsAllocator() async throws {
        let output = try await MeshsimRunner.run(["version"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("\nallocator: jemalloc 5."), "\(output.stdout)")
    }

    @Test func unknownSubcommandFails() async throws {
        let output = try await MeshsimRunner.run(["no-such-command"])
        #expect(output.status != 0)
    }
}
