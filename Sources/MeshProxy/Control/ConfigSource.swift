import Foundation
import MeshConfig

/// One piece of configuration text as it was applied: a file `serve -f` read, or a document
/// posted to the admin server. Kept with each revision for `/config_dump` and rollback.
public struct ConfigSource: Sendable, Hashable {
    /// The path, or the name the poster gave (`meshsim apply` sends each file's path).
    public var name: String
    public var content: String

    public init(name: String, content: String) {
        self.name = name
        self.content = content
    }
}

/// The configuration files behind `serve -f PATH...`, read once: their text, a fingerprint of
/// it for the watcher, and what they decode to. Reading, hashing and decoding the same bytes
/// means the watcher can never apply a version other than the one it saw.
public struct ConfigFileSet: Sendable {
    public let paths: [String]
    public let sources: [ConfigSource]
    /// Changes when any file's content changes, a file appears or one goes.
    public let fingerprint: Int
    public let loaded: LoadResult

    /// Reads `paths` (files, directories recursively, `-` for standard input) as `ConfigLoader` does.
    public static func read(paths: [String], namespace: String) -> ConfigFileSet {
        let loader = ConfigLoader(defaultNamespace: namespace)
        var hasher = Hasher()
        var sources: [ConfigSource] = []
        var loaded = LoadResult()
        for path in paths {
            hasher.combine(path)
            if path == "-" {
                let data = FileDescriptorReader.readToEnd(FileHandle.standardInput)
                Self.combine(data, into: &hasher)
                sources.append(ConfigSource(name: "<stdin>", content: String(decoding: data, as: UTF8.self)))
                loaded.merge(loader.load(data: data, file: "<stdin>"))
                continue
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                hasher.combine("missing")
                loaded.diagnostics.append(ConfigDiagnostic(severity: .error, file: path, line: nil, message: "no such file or directory"))
                continue
            }
            let files = isDirectory.boolValue ? ConfigLoader.configFiles(under: path) : [path]
            if isDirectory.boolValue && files.isEmpty {
                loaded.diagnostics.append(ConfigDiagnostic(severity: .warning, file: path, line: nil, message: "directory holds no .yaml, .yml or .json files"))
            }
            for file in files {
                hasher.combine(file)
                guard let data = FileManager.default.contents(atPath: file) else {
                    hasher.combine("unreadable")
                    loaded.diagnostics.append(ConfigDiagnostic(severity: .error, file: file, line: nil, message: "cannot read file"))
                    continue
                }
                Self.combine(data, into: &hasher)
                sources.append(ConfigSource(name: file, content: String(decoding: data, as: UTF8.self)))
                loaded.merge(loader.load(data: data, file: file))
            }
        }
        return ConfigFileSet(paths: paths, sources: sources, fingerprint: hasher.finalize(), loaded: loaded)
    }

    /// Every byte: `Data`'s own hash looks only at its length and first bytes, and would miss an
    /// edit that keeps the size (`weight: 90` → `weight: 30`).
    static func combine(_ data: Data, into hasher: inout Hasher) {
        hasher.combine(data.count)
        data.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Only the fingerprint, for a poll that finds nothing changed (no decoding).
    public static func fingerprint(paths: [String]) -> Int {
        var hasher = Hasher()
        for path in paths {
            hasher.combine(path)
            var isDirectory: ObjCBool = false
            guard path != "-", FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                hasher.combine("missing")
                continue
            }
            for file in isDirectory.boolValue ? ConfigLoader.configFiles(under: path) : [path] {
                hasher.combine(file)
                if let data = FileManager.default.contents(atPath: file) {
                    Self.combine(data, into: &hasher)
                } else {
                    hasher.combine("unreadable")
                }
            }
        }
        return hasher.finalize()
    }
}
