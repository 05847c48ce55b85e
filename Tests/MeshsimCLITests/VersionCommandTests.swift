import Testing

@Suite struct VersionCommandTests {
    @Test func printsVersion() async throws {
        let output = try await MeshsimRunner.run(["version"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix("meshsim "))
    }

    @Test func unknownSubcommandFails() async throws {
        let output = try await MeshsimRunner.run(["no-such-command"])
        #expect(output.status != 0)
    }
}
