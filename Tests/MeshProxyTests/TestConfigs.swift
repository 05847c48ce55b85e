import Foundation

/// Paths of the repository's `configs/` examples.
enum TestConfigs {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ relative: String) -> String {
        repositoryRoot.appendingPathComponent("configs").appendingPathComponent(relative).path
    }
}
