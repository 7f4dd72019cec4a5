/// SplitMix64 (Steele, Lea & Flood 2014): a tiny generator whose stream is fixed by its 64-bit
/// state. Keyed by (seed, stream index) so phantom k's numbers never depend on which thread
/// made it or how many phantoms came before it.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(state: UInt64) { self.state = state }

    /// The stream of `index` under `seed`: both are mixed so neighbouring seeds and indices give
    /// unrelated streams.
    public init(seed: UInt64, stream index: UInt64) {
        state = SplitMix64.mix(seed &+ 0x9E37_79B9_7F4A_7C15) ^ SplitMix64.mix(index &* 0xD1B5_4A32_D192_ED03 &+ 0x8CB9_2BA7_2F3D_8DD7)
    }

    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SplitMix64.mix(state)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [lo, hi).
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

    /// Uniform integer in 0..<n (n > 0), by multiply-shift (no modulo bias worth measuring at small n).
    public mutating func below(_ n: Int) -> Int { Int((UInt128Helper.mulHigh(next(), UInt64(n)))) }
}

enum UInt128Helper {
    static func mulHigh(_ a: UInt64, _ b: UInt64) -> UInt64 { a.multipliedFullWidth(by: b).high }
}
