import ArgumentParser
import MeshProxy

/// `meshsim rollback`: a running `meshsim serve` applies an earlier revision again.
struct Rollback: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Roll a running meshsim serve back to its previous configuration (or --revision N).",
        discussion: "The earlier configuration is applied as a new revision; `meshsim revisions` lists the kept ones.")

    @Option(help: "The kept revision to go back to (default: the one before the current).")
    var revision: Int?

    @OptionGroup var adminOptions: AdminOptions

    func run() async throws {
        let path = revision.map { "/config/rollback?revision=\($0)" } ?? "/config/rollback"
        try await adminOptions.change(path: path) { result in
            "rolled back\(revision.map { " to revision \($0)" } ?? ""): revision \(result.revision) applied"
        }
    }
}
