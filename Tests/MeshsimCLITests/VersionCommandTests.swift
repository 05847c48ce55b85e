import Testing

@Suite struct VersionCommandTests {
    @Test func printsVersion() throws {
        let output = try MeshsimRunner.run(["version"])
        #expect(output.status == 0)
        #expect(output.stdout.hasPrefix("meshsim "))
    }

    @Test func unknownSubcommandFails() throws {
        let output = try MeshsimRunner.run(["no-such-command"])
        #expect(output.status != 0)
    }
}
