/// Envoy's ring hash load balancer: each endpoint owns many points on a 64-bit ring (at least
/// `minimumRingSize` in all, Envoy's default 1024), and a request goes to the first point at
/// or after its key's hash. Adding or removing one endpoint moves only its share of keys.
struct HashRing {
    private var points: [(hash: UInt64, endpoint: Int)] = []

    init(endpoints: [(index: Int, key: String, weight: UInt32)], minimumRingSize: Int = 1024) {
        guard !endpoints.isEmpty else { return }
        let totalWeight = endpoints.reduce(0) { $0 + Int(max($1.weight, 1)) }
        let perWeight = max(1, (minimumRingSize + totalWeight - 1) / totalWeight)
        for endpoint in endpoints {
            let copies = perWeight * Int(max(endpoint.weight, 1))
            for copy in 0..<copies {
                points.append((Self.hash("\(endpoint.key)_\(copy)"), endpoint.index))
            }
        }
        points.sort { $0.hash < $1.hash }
    }

    var isEmpty: Bool { points.isEmpty }

    func endpoint(for hash: UInt64) -> Int? {
        guard !points.isEmpty else { return nil }
        var low = 0, high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid].hash < hash { low = mid + 1 } else { high = mid }
        }
        return points[low == points.count ? 0 : low].endpoint
    }

    /// FNV-1a with a final avalanche, stable across runs and platforms (unlike `Hasher`).
    static func hash(_ text: String) -> UInt64 {
        var value: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x0000_0100_0000_01B3
        }
        value ^= value >> 33
        value = value &* 0xFF51_AFD7_ED55_8CCD
        value ^= value >> 33
        value = value &* 0xC4CE_B9FE_1A85_EC53
        value ^= value >> 33
        return value
    }
}
