import ArgumentParser
import Foundation
import MeshProxy

/// `meshsim revisions`: the revisions a running `meshsim serve` keeps for rollback.
struct Revisions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the configuration revisions a running meshsim serve keeps.")

    @OptionGroup var adminOptions: AdminOptions

    struct List: Decodable {
        struct Entry: Decodable {
            var revision: Int
            var appliedAt: String
            var origin: String
            var current: Bool
            var sources: [String]
        }

        var current: Int
        var revisions: [Entry]
    }

    func run() async throws {
        let response: MeshResponse
        do {
            response = try await adminOptions.client().send(method: "GET", path: "/config/revisions")
        } catch let error as AdminClient.Unreachable {
            printError("\(error) (is `meshsim serve --admin \(adminOptions.admin)` running?)")
            throw ExitCode.failure
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let list = try? decoder.decode(List.self, from: Data(response.body.utf8)) else {
            printError("unexpected answer from the admin server (HTTP \(response.status)): \(response.body)")
            throw ExitCode.failure
        }
        print("REVISION  APPLIED               ORIGIN          SOURCES")
        for entry in list.revisions.reversed() {
            let mark = entry.current ? "*" : " "
            let number = "\(entry.revision)\(mark)".padding(toLength: 9, withPad: " ", startingAt: 0)
            let origin = entry.origin.padding(toLength: 15, withPad: " ", startingAt: 0)
            let date = entry.appliedAt.padding(toLength: 21, withPad: " ", startingAt: 0)
            print("\(number) \(date) \(origin) \(entry.sources.count) file\(entry.sources.count == 1 ? "" : "s")")
        }
    }
}
