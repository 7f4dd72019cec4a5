import Foundation

/// Counter-based random numbers (Philox 4×32-10, Salmon et al. 2011): every value is a pure
/// function of (seed, stream, counter), so a dropout mask or an initialisation does not depend on
/// the number of threads or on the order in which elements are visited.
///
/// Use one `stream` per purpose (e.g. a layer's dropout, a parameter's init, an epoch's shuffle)
/// and the element index as counter.
public struct RandomKey: Hashable, Sendable {
    public var seed: UInt64
    public var stream: UInt64

    public init(seed: UInt64, stream: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
    }

    /// A key for a sub-purpose, derived deterministically (e.g. `key.derived(layerIndex)`).
    public func derived(_ tag: UInt64) -> RandomKey {
        RandomKey(seed: seed, stream: RandomKey.mix(stream &* 0x9E37_79B9_7F4A_7C15 &+ tag &+ 1))
    }

    /// Four independent 32-bit words for `counter`.
    public func bits(_ counter: UInt64) -> (UInt32, UInt32, UInt32, UInt32) {
        var c0 = UInt32(truncatingIfNeeded: counter), c1 = UInt32(truncatingIfNeeded: counter >> 32)
        var c2 = UInt32(truncatingIfNeeded: stream), c3 = UInt32(truncatingIfNeeded: stream >> 32)
        var k0 = UInt32(truncatingIfNeeded: seed), k1 = UInt32(truncatingIfNeeded: seed >> 32)
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c0)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c2)
            let n0 = UInt32(truncatingIfNeeded: p1 >> 32) ^ c1 ^ k0
            let n1 = UInt32(truncatingIfNeeded: p1)
            let n2 = UInt32(truncatingIfNeeded: p0 >> 32) ^ c3 ^ k1
            let n3 = UInt32(truncatingIfNeeded: p0)
            c0 = n0; c1 = n1; c2 = n2; c3 = n3
            k0 = k0 &+ 0x9E37_79B9
            k1 = k1 &+ 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// Uniform in [0, 1) with 24 random bits (exactly representable in Float).
    public func uniform(_ counter: UInt64) -> Float {
        Float(bits(counter).0 >> 8) * (1.0 / 16_777_216.0)
    }

    /// Standard normal (Box–Muller on two words of the same counter).
    public func normal(_ counter: UInt64) -> Float {
        let b = bits(counter)
        let u1 = (Double(b.0 >> 8) + 1) / 16_777_217.0   // (0, 1]: log is finite
        let u2 = Double(b.1 >> 8) / 16_777_216.0
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// A uniformly random permutation of 0..<n (Fisher–Yates with counter-based draws).
    public func permutation(_ n: Int) -> [Int] {
        var p = Array(0..<n)
        if n < 2 { return p }
        for i in stride(from: n - 1, to: 0, by: -1) {
            let b = bits(UInt64(i))
            let r = (UInt64(b.0) << 32) | UInt64(b.1)
            let j = Int(r.multipliedFullWidth(by: UInt64(i + 1)).high)   // unbiased enough: 2⁻⁶⁴ skew
            p.swapAt(i, j)
        }
        return p
    }

    static func mix(_ x: UInt64) -> UInt64 {   // SplitMix64 finaliser
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Tensor {
    /// Uniform in [low, high); element i uses counter i of `key`.
    public static func uniform(shape: [Int], low: Float = 0, high: Float = 1, key: RandomKey) -> Tensor {
        var t = Tensor(shape: shape)
        let span = high - low
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = low + span * key.uniform(UInt64(i)) }
        }
        return t
    }

    /// Normal(mean, std²); element i uses counter i of `key`.
    public static func normal(shape: [Int], mean: Float = 0, std: Float = 1, key: RandomKey) -> Tensor {
        var t = Tensor(shape: shape)
        t.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { p[i] = mean + std * key.normal(UInt64(i)) }
        }
        return t
    }
}
