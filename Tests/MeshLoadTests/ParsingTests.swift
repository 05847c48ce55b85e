import Foundation
import Testing

@testable import MeshLoad

@Suite struct ExpectedSharesParsingTests {
    @Test func parsesPercentages() throws {
        let shares = try ExpectedShares(parsing: "v1=95, v2 = 5")
        #expect(shares.entries == [.init(subset: "v1", weight: 95), .init(subset: "v2", weight: 5)])
        #expect(shares.fraction(of: "v2") == 0.05)
        #expect(shares.fraction(of: "v3") == 0)
        #expect(shares.integerWeightSum == 100)
    }

    @Test func parsesFractions() throws {
        let shares = try ExpectedShares(parsing: "v1=0.75,v2=0.25")
        #expect(shares.fraction(of: "v1") == 0.75)
        #expect(shares.integerWeightSum == nil)
    }

    @Test(arguments: [
        ("v1=95,v2=15", "sum to 110"),
        ("v1=50,v2=40", "sum to 90"),
        ("v1", "not SUBSET=SHARE"),
        ("v1=95,,v2=5", "not SUBSET=SHARE"),
        ("v1=ninety", "not a number"),
        ("v1=50,v1=50", "given twice"),
        ("v1=110,v2=-10", "non-negative"),
        ("v1=0,v2=0", "every share is zero"),
        ("=100", "empty subset name"),
        ("v1=inf", "non-negative number"),
    ])
    func rejectsMalformedExpectations(text: String, problem: String) {
        #expect {
            try ExpectedShares(parsing: text)
        } throws: { error in
            "\(error)".contains(problem) && "\(error)".hasPrefix("--expect")
        }
    }
}

@Suite struct RequestMixTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let defaults = RequestClass(method: "GET", path: "/reviews/0", bodyBytes: 0)

    @Test func readsTheExampleMix() throws {
        let path = Self.repositoryRoot.appendingPathComponent("scenarios/load-mix.yaml").path
        let classes = try RequestMix.load(path: path, defaults: defaults)
        #expect(classes.map(\.name) == ["beta", "plain"])
        #expect(classes.map(\.weight) == [10, 90])
        #expect(classes[0].headers == [HeaderField(name: "x-user-group", value: "beta")])
        #expect(classes[0].expected?.fraction(of: "v2") == 1)
        #expect(classes[1].expected?.fraction(of: "v2") == 0.05)
        #expect(classes[1].path == "/reviews/0")
    }

    @Test func classesInheritDefaultsAndOverrideThem() throws {
        let text = """
            classes:
            - name: post
              weight: 1
              method: POST
              path: /submit
              bodyBytes: 128
            - name: get
              weight: 3
            """
        let classes = try RequestMix.parse(text: text, file: "mix.yaml", defaults: defaults)
        #expect(classes[0].method == "POST" && classes[0].path == "/submit" && classes[0].bodyBytes == 128)
        #expect(classes[1].method == "GET" && classes[1].path == "/reviews/0" && classes[1].expected == nil)
    }

    @Test(arguments: [
        ("classes:\n- name: a\n  weight: 1\n  colour: red\n", "mix.yaml:4"),
        ("classes:\n- name: a\n  weight: 0\n", "weight must be at least 1"),
        ("classes:\n- name: a\n  weight: 1\n  expect: {v1: 90, v2: 5}\n", "sum to 95"),
        ("classes:\n- name: a\n  weight: 1\n- name: a\n  weight: 2\n", "used twice"),
        ("classes: []\n", "classes is empty"),
        ("", "empty"),
        ("classes:\n- name: a\n  weight: one\n", "mix.yaml:3"),
        ("classes:\n- name: a\n  weight: 1\n  headers: {content-length: '5'}\n", "set by meshsim load itself"),
        ("classes:\n- name: a\n  weight: 1\n  path: nope\n", "must start with /"),
        ("classes:\n  - name: [a\n", "invalid YAML"),
        ("classes:\n- weight: 1\n", "name"),
    ])
    func rejectsBadMixFiles(text: String, problem: String) {
        #expect {
            try RequestMix.parse(text: text, file: "mix.yaml", defaults: defaults)
        } throws: { error in
            "\(error)".contains(problem) && !"\(error)".contains("\n")
        }
    }

    @Test func missingFileIsAOneLineError() {
        #expect {
            try RequestMix.load(path: "/nonexistent/mix.yaml", defaults: defaults)
        } throws: { error in
            "\(error)" == "/nonexistent/mix.yaml: cannot read the mix file"
        }
    }
}

@Suite struct TargetAndOptionTests {
    @Test func parsesURLs() throws {
        let plain = try TargetURL(parsing: "http://127.0.0.1:8080/reviews/1?x=1")
        #expect(plain.host == "127.0.0.1" && plain.port == 8080 && plain.pathAndQuery == "/reviews/1?x=1" && plain.authority == "127.0.0.1:8080")
        let bare = try TargetURL(parsing: "http://reviews")
        #expect(bare.port == 80 && bare.pathAndQuery == "/")
        let v6 = try TargetURL(parsing: "http://[::1]:9080")
        #expect(v6.host == "::1" && v6.port == 9080 && v6.authority == "[::1]:9080")
    }

    @Test(arguments: [
        ("https://example.com/", "https is not supported"), ("ftp://x/", "not an http:// URL"), ("http://", "names no host"),
        ("http://host:99999/", "invalid port"), ("http://host:abc/", "invalid port"), ("http://h/a b", "percent-encode"),
    ])
    func rejectsBadURLs(text: String, problem: String) {
        #expect {
            try TargetURL(parsing: text)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    @Test func parsesHeaders() throws {
        #expect(try HeaderField(parsing: "X-User-Group:  beta ") == HeaderField(name: "X-User-Group", value: "beta"))
        #expect(throws: LoadInputError.self) { try HeaderField(parsing: "no colon") }
        #expect(throws: LoadInputError.self) { try HeaderField(parsing: "bad name: x") }
    }

    @Test func encodesRequestsOnce() throws {
        let requestClass = RequestClass(
            name: "beta", method: "POST", path: "/p", headers: [HeaderField(name: "x-user-group", value: "beta")], bodyBytes: 3)
        let bytes = requestClass.encoded(authority: "reviews:9080", commonHeaders: [HeaderField(name: "x-user-group", value: "alpha"), HeaderField(name: "x-a", value: "1")])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == "POST /p HTTP/1.1\r\nHost: reviews:9080\r\nx-a: 1\r\nx-user-group: beta\r\nContent-Length: 3\r\n\r\nxxx")
    }

    @Test func validationNamesTheProblem() throws {
        let target = try TargetURL(parsing: "http://127.0.0.1:1/")
        func problem(_ configuration: LoadConfiguration) -> String {
            do {
                try configuration.validate()
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(problem(LoadConfiguration(target: target, httpVersion: .http2)) == "")
        #expect(problem(LoadConfiguration(target: target, httpVersion: .http2, streamsPerConnection: 0)).contains("--streams"))
        let h2 = LoadConfiguration(target: target, pacing: .closedLoop(concurrency: 25), httpVersion: .http2, streamsPerConnection: 10)
        #expect(h2.connections == 3)
        #expect(h2.activeLanes == 25)
        #expect(problem(LoadConfiguration(
            target: target, pacing: .closedLoop(concurrency: 25), connections: 2, httpVersion: .http2, streamsPerConnection: 10)).contains("exceeds --connections 2 × --streams 10"))
        #expect(problem(LoadConfiguration(target: target, pacing: .closedLoop(concurrency: 20), connections: 5)).contains("exceeds --connections"))
        #expect(problem(LoadConfiguration(target: target, warmup: .seconds(1), exact: true)).contains("--exact cannot be combined with --warmup"))
        #expect(problem(LoadConfiguration(target: target, duration: nil, requestLimit: nil)).contains("--duration or --requests"))
        #expect(problem(LoadConfiguration(target: target, pacing: .openLoop(requestsPerSecond: 0))).contains("--rps"))
        #expect(problem(LoadConfiguration(target: target)) == "")
    }
}
