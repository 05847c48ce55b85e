import Foundation
import MeshConfig
import Yams

/// The `--mix FILE` format: weighted request classes, each with its own headers and expected
/// destination shares.
///
/// ```yaml
/// # 10% of requests are beta users, who must all reach v2; the rest see the 95/5 canary.
/// classes:
/// - name: beta              # required, unique; names the class in the report
///   weight: 10              # required, whole number >= 1; relative to the other classes
///   headers:                # optional; added to (and overriding) every -H header
///     x-user-group: beta    #   a `host` header sets this class's authority
///   expect:                 # optional; shares in percent (sum 100) or fractions (sum 1)
///     v2: 100
/// - name: plain
///   weight: 90
///   method: GET             # optional; default --method
///   path: /reviews/1        # optional; default the URL's path
///   bodyBytes: 0            # optional; default --body-bytes
///   expect: {v1: 95, v2: 5}
/// ```
///
/// A class without `expect` takes the run's expectation: `--expect`, or with `-f` the route
/// the configs give that class's requests. Requests are dealt to classes in a fixed, smooth
/// order (weighted round-robin), so any `weight sum` consecutive requests hold each class's
/// share exactly. Unknown fields are errors, reported with file and line.
public enum RequestMix {
    struct Document: Decodable {
        var classes: [Class]
    }

    struct Class: Decodable {
        var name: String
        var weight: Int
        var method: String?
        var path: String?
        var headers: [String: String]?
        var bodyBytes: Int?
        var expect: [String: Double]?
    }

    /// Reads a mix file; `defaults` supplies method, path and body size for classes that set none.
    public static func load(path: String, defaults: RequestClass) throws -> [RequestClass] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadInputError("\(path): cannot read the mix file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw LoadInputError("\(path): the mix file is not UTF-8 text")
        }
        return try parse(text: text, file: path, defaults: defaults)
    }

    public static func parse(text: String, file: String, defaults: RequestClass) throws -> [RequestClass] {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw LoadInputError(ConfigLoader.yamlDiagnostic(error, file: file).description)
        }
        guard let node else { throw LoadInputError("\(file): the mix file is empty") }
        let document: Document
        do {
            document = try NodeDecoder().decode(Document.self, from: node)
        } catch let failure as DecodeFailure {
            let line = failure.line.map { ":\($0)" } ?? ""
            throw LoadInputError("\(file)\(line): \(failure.description)")
        }
        guard !document.classes.isEmpty else { throw LoadInputError("\(file): classes is empty") }

        var classes: [RequestClass] = []
        var names = Set<String>()
        for (index, entry) in document.classes.enumerated() {
            let place = "\(file): classes[\(index)]"
            guard names.insert(entry.name).inserted else { throw LoadInputError("\(place): class name \"\(entry.name)\" is used twice") }
            var expected: ExpectedShares?
            if let expect = entry.expect {
                let entries = expect.keys.sorted().map { ExpectedShares.Entry(subset: $0, weight: expect[$0] ?? 0) }
                expected = try ExpectedShares(userShares: entries, source: "mix class \(entry.name)")
            }
            let headers = (entry.headers ?? [:]).keys.sorted().map { HeaderField(name: $0, value: entry.headers?[$0] ?? "") }
            let requestClass = RequestClass(
                name: entry.name, weight: entry.weight, method: entry.method ?? defaults.method,
                path: entry.path ?? defaults.path, headers: headers, bodyBytes: entry.bodyBytes ?? defaults.bodyBytes,
                expected: expected)
            do { try requestClass.validate() } catch let error as LoadInputError {
                throw LoadInputError("\(place): \(error.message)")
            }
            classes.append(requestClass)
        }
        return classes
    }
}
