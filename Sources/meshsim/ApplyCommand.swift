import ArgumentParser
import Foundation
import MeshConfig
import MeshProxy

/// `meshsim apply -f PATH...`: `kubectl apply` against a running `meshsim serve`. The server
/// decodes, validates and compiles the resources, merges them into its running set (same kind,
/// namespace and name replaces), and publishes the result, or rejects the whole change.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply Istio and Kubernetes YAML to a running meshsim serve, like kubectl apply.",
        discussion: """
            Prints the new revision, or every error with file:line and exits 1 (the running \
            configuration stays as it was). Resources with the kind, namespace and name of running \
            ones replace them; others are added; resources not named stay.
            """)

    @Option(name: [.short, .customLong("filename")], help: "A file, a directory (recursive) or - for stdin. Repeatable.")
    var files: [String] = []

    @OptionGroup var adminOptions: AdminOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("no configuration given: pass -f PATH (a file or directory)") }
    }

    func run() async throws {
        var upload: [ConfigUpload.File] = []
        for path in files {
            if path == "-" {
                let data = FileDescriptorReader.readToEnd(FileHandle.standardInput)
                upload.append(ConfigUpload.File(name: "<stdin>", content: String(decoding: data, as: UTF8.self)))
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                printError("\(path): no such file or directory")
                throw ExitCode.failure
            }
            for file in isDirectory.boolValue ? ConfigLoader.configFiles(under: path) : [path] {
                guard let data = FileManager.default.contents(atPath: file) else {
                    printError("\(file): cannot read file")
                    throw ExitCode.failure
                }
                upload.append(ConfigUpload.File(name: file, content: String(decoding: data, as: UTF8.self)))
            }
        }
        if upload.isEmpty {
            printError("no .yaml, .yml or .json files in \(files.joined(separator: ", "))")
            throw ExitCode.failure
        }
        let body = String(decoding: try JSONEncoder().encode(ConfigUpload(files: upload)), as: UTF8.self)
        try await adminOptions.change(path: "/config", body: body, contentType: "application/json") { result in
            "revision \(result.revision) applied"
        }
    }
}
