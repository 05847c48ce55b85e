import ArgumentParser
import Foundation
import MeshProxy

/// `--admin host:port` of a running `meshsim serve`, for the commands that talk to it.
struct AdminOptions: ParsableArguments {
    @Option(help: "host:port of the admin server of a running meshsim serve.")
    var admin: String = Serve.defaultAdmin

    func client() throws -> AdminClient {
        let (host, port) = try HostPort.parse(admin, option: "--admin")
        return AdminClient(host: host, port: port)
    }

    /// Sends a request that changes the configuration and prints the outcome: the revision on
    /// success (exit 0), every error with file:line on rejection (exit 1).
    func change(method: String = "POST", path: String, body: String? = nil, contentType: String? = nil,
                describeApplied: (ConfigChangeResult) -> String) async throws {
        let response: MeshResponse
        do {
            response = try await client().send(method: method, path: path, body: body, contentType: contentType)
        } catch let error as AdminClient.Unreachable {
            printError("\(error) (is `meshsim serve --admin \(admin)` running?)")
            throw ExitCode.failure
        }
        guard let result = try? ConfigChangeResult.decode(from: Data(response.body.utf8)) else {
            printError("unexpected answer from the admin server (HTTP \(response.status)): \(response.body)")
            throw ExitCode.failure
        }
        for warning in result.warnings { printError(warning.text) }
        switch result.result {
        case .applied:
            print(describeApplied(result))
        case .unchanged:
            print("unchanged: revision \(result.revision) already serves this configuration")
        case .rejected:
            for error in result.errors { printError(error.text) }
            printError("rejected: \(result.errors.count) error\(result.errors.count == 1 ? "" : "s"); revision \(result.revision) keeps serving")
            throw ExitCode.failure
        }
    }
}
