import Foundation
import MeshConfig
import MeshRouting
import Testing

@testable import MeshLoad

/// Expected shares derived from the example configs, as `meshsim load -f` does.
@Suite struct ConfigExpectationTests {
    static func snapshot(_ directories: [String]) throws -> RoutingSnapshot {
        let root = RequestMixTests.repositoryRoot.appendingPathComponent("configs")
        let result = ConfigLoader().load(paths: directories.map { root.appendingPathComponent($0).path })
        #expect(!result.hasErrors)
        return try RoutingSnapshot(resources: result.resources, options: RoutingOptions())
    }

    static func mixConfiguration(authority: String? = nil) throws -> LoadConfiguration {
        let mixPath = RequestMixTests.repositoryRoot.appendingPathComponent("scenarios/load-mix.yaml").path
        var classes = try RequestMix.load(path: mixPath, defaults: RequestClass(path: "/reviews/0"))
        for index in classes.indices { classes[index].expected = nil }  // let the configs decide
        return LoadConfiguration(target: try TargetURL(parsing: "http://127.0.0.1:1/reviews/0"), classes: classes, authority: authority)
    }

    @Test func headerRoutingGivesEachClassItsShares() throws {
        let snapshot = try Self.snapshot(["reviews", "header-routing"])
        let configured = try Self.mixConfiguration().withExpectations(from: snapshot)
        // The URL is the proxy's address; the one routed host becomes the authority.
        #expect(configured.authority == snapshot.hosts.first)
        let beta = try #require(configured.classes[0].expected)
        #expect(beta.entries.map(\.subset) == ["v2"])
        #expect(beta.source == "configs: default/reviews rule beta-users")
        let plain = try #require(configured.classes[1].expected)
        #expect(plain.entries == [.init(subset: "v1", weight: 95), .init(subset: "v2", weight: 5)])
        #expect(plain.source == "configs: default/reviews rule canary")
        #expect(plain.integerWeightSum == 100)
    }

    @Test func explicitExpectationsAreKept() throws {
        let snapshot = try Self.snapshot(["reviews", "header-routing"])
        var configuration = try Self.mixConfiguration()
        configuration.classes[1].expected = try ExpectedShares(parsing: "v1=50,v2=50")
        let configured = try configuration.withExpectations(from: snapshot)
        #expect(configured.classes[1].expected?.fraction(of: "v2") == 0.5)
    }

    @Test func anUnroutedAuthorityIsNamed() throws {
        let snapshot = try Self.snapshot(["reviews", "header-routing"])
        #expect {
            try Self.mixConfiguration(authority: "ratings").withExpectations(from: snapshot)
        } throws: { error in
            let text = "\(error)"
            return text.hasPrefix("request class beta (GET /reviews/0, authority ratings): the configs give it no route (404 NR)")
                && text.contains("--authority")
        }
    }

    /// The mix example against a server that routes like configs/header-routing in exact mode.
    /// The time limit only guards against a hang: 2 minutes like the other load suites (a loaded
    /// full run took this test 40 s, counted from when it was scheduled).
    @Test(.timeLimit(.minutes(2))) func configExpectationsPassAgainstAMatchingServer() async throws {
        let snapshot = try Self.snapshot(["reviews", "header-routing"])
        let server = try await DestinationServer.start(.userGroup(every: 20))
        var configuration = try Self.mixConfiguration()
        configuration.target = try TargetURL(parsing: server.url + "reviews/0")
        configuration.duration = nil
        configuration.requestLimit = 1000
        configuration.exact = true
        let report = try await LoadRun.run(try configuration.withExpectations(from: snapshot))
        await server.stop()
        #expect(report.classes.map(\.split.exactChecked) == [true, true])
        #expect(report.verdict == .pass)
    }
}
