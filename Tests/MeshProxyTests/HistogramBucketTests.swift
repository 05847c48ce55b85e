import Testing

@testable import MeshProxy

/// A stats cell finds a value's histogram bucket from the bucket its previous value fell in:
/// whatever came before, the bucket is the binary search's (bounds themselves, values between
/// and beyond them, negatives, infinities and NaN included).
@Suite struct HistogramBucketTests {
    @Test func aCellsBucketIsTheBinarySearchsWhateverCameBefore() {
        let cell = WorkerStats.RequestCounters.Cell()
        var values: [Double] = [-1, 0, 0.25, .infinity, -.infinity, .nan, 3_600_001, 1e12]
        for bound in StatsSnapshot.histogramBucketBounds {
            values += [bound, bound.nextDown, bound.nextUp, bound / 2, bound * 1.5]
        }
        for previous in values {
            for value in values {
                var last = 0
                _ = cell.bucketIndex(previous, near: &last)
                #expect(cell.bucketIndex(value, near: &last) == WorkerStats.RequestCounters.bucketIndex(value), "\(previous) then \(value)")
            }
        }
    }
}
