import Foundation

/// Paired bootstrap of a mean difference: the same test phantoms were scored by two variants, so
/// the per-phantom differences are resampled with replacement (phantoms, not voxels, are the units)
/// and the 2.5th and 97.5th percentiles of the resampled means are the 95% interval. Seeded and
/// deterministic: the same differences and seed give the same interval on every machine.
public enum PairedBootstrap {
    public struct Interval: Equatable, Sendable {
        /// Mean of the differences (variant − baseline).
        public var mean: Double
        public var lower: Double
        public var upper: Double
        /// Number of paired phantoms.
        public var count: Int
        /// True when the interval lies strictly on one side of zero.
        public var excludesZero: Bool { lower > 0 || upper < 0 }
    }

    public static let defaultResamples = 2000
    public static let defaultSeed: UInt64 = 20_240_601

    /// The 95% percentile interval of the mean of `differences` over `resamples` resamples.
    /// Nil for no differences (nothing to compare).
    public static func interval(_ differences: [Double], resamples: Int = defaultResamples, seed: UInt64 = defaultSeed,
                                level: Double = 0.95) -> Interval? {
        let n = differences.count
        guard n > 0, resamples > 0 else { return nil }
        let mean = differences.reduce(0, +) / Double(n)
        var rng = SplitMix64(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        for b in 0..<resamples {
            var sum = 0.0
            for _ in 0..<n { sum += differences[rng.index(below: n)] }
            means[b] = sum / Double(n)
        }
        means.sort()
        let tail = (1 - level) / 2 * 100
        return Interval(mean: mean, lower: percentile(sortedValues: means, tail), upper: percentile(sortedValues: means, 100 - tail), count: n)
    }

    /// NumPy's default (`method="linear"`) percentile of ascending values, q in [0, 100].
    public static func percentile(sortedValues v: [Double], _ q: Double) -> Double {
        guard !v.isEmpty else { return .nan }
        let position = q / 100 * Double(v.count - 1)
        let lo = Int(position.rounded(.down)), hi = min(lo + 1, v.count - 1)
        let fraction = position - Double(lo)
        return v[lo] + (v[hi] - v[lo]) * fraction
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same sequence everywhere.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in 0..<n (Lemire's multiply-shift; the bias for n ≪ 2⁶⁴ is negligible).
    mutating func index(below n: Int) -> Int {
        Int(next().multipliedFullWidth(by: UInt64(n)).high)
    }
}
