import ArgumentParser
import CJemalloc

@main
struct Meshsim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "meshsim",
        abstract: "Test Istio traffic routing locally: validate, analyze, explain and serve real Istio YAML.",
        subcommands: [
            Validate.self,
            Analyze.self,
            RouteCommand.self,
            TestCommand.self,
            Serve.self,
            Apply.self,
            Rollback.self,
            Revisions.self,
            Backend.self,
            Load.self,
            Demo.self,
            Version.self,
        ]
    )
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print meshsim's version.")
    static let current = "0.1.0"
    func run() {
        print("meshsim \(Self.current)")
        // Which malloc serves the process: jemalloc when the binary was linked with it (what
        // the performance figures assume), else the C library's.
        if let version = cjemalloc_version() {
            print("allocator: jemalloc \(String(cString: version))")
        } else {
            print("allocator: libc malloc")
        }
    }
}
