import ArgumentParser
import MeshConfig

/// `-f PATH` (repeatable) and `--namespace`: how every command reads configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: [.short, .customLong("filename")], help: "A file, a directory (recursive) or - for stdin. Repeatable.")
    var files: [String] = []

    @Option(name: .long, help: "Namespace for resources that name none.")
    var namespace: String = "default"

    /// Loads the given paths (plus `extra`, for commands that take paths as arguments), printing
    /// load errors and notes to stderr.
    func load(extra: [String] = [], printNotes: Bool = true) -> LoadResult {
        let result = ConfigLoader(defaultNamespace: namespace).load(paths: files + extra)
        for d in result.diagnostics where d.severity != .note || printNotes {
            printError(d.description)
        }
        return result
    }
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandleWriter.writeStderr(string)
    }
}

import Foundation

enum FileHandleWriter {
    static func writeStderr(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
