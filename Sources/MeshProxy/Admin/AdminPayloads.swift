import Foundation
import MeshConfig

/// The JSON `meshsim apply` posts to `POST /config`: each file's name and text, so that errors
/// point at each file's own lines.
public struct ConfigUpload: Codable, Sendable {
    public struct File: Codable, Sendable {
        public var name: String
        public var content: String

        public init(name: String, content: String) {
            self.name = name
            self.content = content
        }
    }

    public var files: [File]

    public init(files: [File]) {
        self.files = files
    }
}

/// A config diagnostic as the admin server's JSON carries it.
public struct DiagnosticPayload: Codable, Sendable, Hashable {
    public var severity: String
    public var file: String
    public var line: Int?
    public var resource: String?
    public var field: String?
    public var message: String
    /// The whole diagnostic as `meshsim validate` prints it (`file:line: error: …`).
    public var text: String

    public init(_ diagnostic: ConfigDiagnostic) {
        severity = diagnostic.severity.rawValue
        file = diagnostic.file
        line = diagnostic.line
        resource = diagnostic.resource
        field = diagnostic.field.flatMap { $0.isEmpty ? nil : $0.description }
        message = diagnostic.message
        text = diagnostic.description
    }
}

/// The answer of `POST /config` and `POST /config/rollback`.
public struct ConfigChangeResult: Codable, Sendable {
    public enum Result: String, Codable, Sendable {
        case applied, unchanged, rejected
    }

    public var result: Result
    /// The revision serving after the request (the new one when applied).
    public var revision: Int
    public var errors: [DiagnosticPayload]
    public var warnings: [DiagnosticPayload]

    public init(result: Result, revision: Int, errors: [ConfigDiagnostic], warnings: [ConfigDiagnostic]) {
        self.result = result
        self.revision = revision
        self.errors = errors.map(DiagnosticPayload.init)
        self.warnings = warnings.map(DiagnosticPayload.init)
    }

    func json() -> String { AdminJSON.encode(self) }
}

/// JSON as every admin endpoint writes it: pretty, keys sorted, slashes as they are.
enum AdminJSON {
    static func encode<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension ConfigChangeResult {
    /// Reads an admin server's answer (snake_case keys).
    public static func decode(from data: Data) throws -> ConfigChangeResult {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(ConfigChangeResult.self, from: data)
    }
}
