import MeshConfig
import MeshBytes
import Testing

@testable import MeshRouting

/// The exact-domain table reads authorities eight bytes at a time: it must find exactly what a
/// byte-by-byte, ASCII-case-insensitive comparison finds, for every length and every byte.
@Suite struct DomainIndexTests {
    @Test func wordLowerCasingMatchesTheByteRuleForEveryByteInEveryPosition() {
        for byte in 0...255 {
            for position in 0..<8 {
                let word = UInt64(0x6161_6161_6161_6161) & ~(UInt64(0xFF) << (8 * position)) | UInt64(byte) << (8 * position)
                let expected = UInt64(0x6161_6161_6161_6161) & ~(UInt64(0xFF) << (8 * position))
                    | UInt64(asciiLowercased(UInt8(byte))) << (8 * position)
                #expect(ASCIIWord.lowercased(word) == expected, "byte \(byte) at \(position)")
            }
        }
    }

    @Test func findsEveryDomainOfEveryLengthWhateverItsCase() {
        var domains: [String: Int] = [:]
        var names: [String] = []
        for length in 1...40 {
            let name = String((0..<length).map { Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(($0 * 7 + length) % 26))) })
            names.append(name)
            domains[name] = length
        }
        domains["reviews.default.svc.cluster.local:9080"] = 100
        domains["bücher.example"] = 101
        let index = DomainIndex(domains)
        for (name, table) in domains {
            #expect(lookup(index, name) == table, "\(name)")
            #expect(lookup(index, name.uppercased()) == (name.contains("ü") ? nil : table), "\(name.uppercased())")
            #expect(lookup(index, mixedCase(name)) == table, "\(mixedCase(name))")
        }
        #expect(lookup(index, "BÜCHER.example") == nil)  // only ASCII folds, as Envoy's lookup does
        #expect(lookup(index, "Bücher.EXAMPLE") == 101)
        #expect(lookup(index, "") == nil)
    }

    @Test func missesNearlyEqualAuthorities() {
        let names = ["a", "ab", "abc", "abcd", "abcdefg", "abcdefgh", "abcdefghi", "reviews.default.svc.cluster.local:9080"]
        let index = DomainIndex(Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) }))
        for name in names {
            var bytes = Array(name.utf8)
            for i in bytes.indices {
                let original = bytes[i]
                // Neighbours of the letters' ranges, and bytes whose low seven bits are letters.
                for replacement: UInt8 in [0x40, 0x5B, 0x60, 0x7B, original ^ 0x80, original &+ 1] where asciiLowercased(replacement) != original {
                    bytes[i] = replacement
                    #expect(lookup(index, bytes) == nil, "\(bytes)")
                }
                bytes[i] = original
            }
            #expect(lookup(index, Array(name.utf8) + [UInt8(ascii: "a")]) == nil)
            #expect(lookup(index, Array(name.utf8.dropLast())) == (names.contains(String(name.dropLast())) ? names.firstIndex(of: String(name.dropLast())) : nil))
        }
    }

    private func lookup(_ index: DomainIndex, _ text: String) -> Int? { lookup(index, Array(text.utf8)) }

    private func lookup(_ index: DomainIndex, _ bytes: [UInt8]) -> Int? {
        bytes.withUnsafeBufferPointer { index.table(for: $0) }
    }

    private func mixedCase(_ text: String) -> String {
        String(text.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.uppercased()) : $0.element })
    }
}

/// The proxy finds a cluster's per-loop state by `Cluster.position`.
@Suite struct ClusterPositionTests {
    @Test(arguments: [["reviews", "header-routing"], ["demo"], ["rollout"], ["grpc-canary"]])
    func eachClusterKnowsItsPlaceInTheSnapshot(configs: [String]) throws {
        let result = ConfigLoader().load(paths: configs.map { "\(configsDirectory)/\($0)" })
        let snapshot = try RoutingSnapshot(resources: result.resources)
        #expect(!snapshot.clusters.isEmpty)
        for (index, cluster) in snapshot.clusters.enumerated() {
            #expect(cluster.position == index, "\(cluster.name)")
        }
    }
}
