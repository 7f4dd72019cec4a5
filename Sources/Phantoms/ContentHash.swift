/// A 128-bit content fingerprint of a phantom's volumes (shape, ground truth, labels), used to find
/// duplicates while cleaning and to name a data set in manifests. Two independent 64-bit lanes of
/// multiply–rotate mixing over 8-byte words: not cryptographic, but accidental collisions among
/// a few million phantoms are out of reach (≈ 2⁻⁸⁰). Measurement datasets and the id are not hashed.
public struct ContentHash: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public static func < (a: ContentHash, b: ContentHash) -> Bool { (a.high, a.low) < (b.high, b.low) }

    public var description: String {
        let h = String(high, radix: 16), l = String(low, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h + String(repeating: "0", count: 16 - l.count) + l
    }

    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    public init(phantom: Phantom) {
        var hasher = Hasher128()
        for d in phantom.size { hasher.combine(UInt64(d)) }
        phantom.groundTruth.withUnsafeBytes { hasher.combine(bytes: $0) }
        phantom.tissueLabels.withUnsafeBytes { hasher.combine(bytes: $0) }
        self = hasher.finish()
    }

    /// A fingerprint of a whole data set: the phantoms' (id, hash) pairs in id order.
    public static func dataset(_ entries: [(id: Int, hash: ContentHash)]) -> ContentHash {
        var hasher = Hasher128()
        for e in entries.sorted(by: { $0.id < $1.id }) {
            hasher.combine(UInt64(bitPattern: Int64(e.id))); hasher.combine(e.hash.high); hasher.combine(e.hash.low)
        }
        return hasher.finish()
    }
}

struct Hasher128 {
    private var a: UInt64 = 0x243F_6A88_85A3_08D3
    private var b: UInt64 = 0x1319_8A2E_0370_7344
    private var length: UInt64 = 0

    mutating func combine(_ word: UInt64) {
        a = (a ^ word) &* 0x9E37_79B9_7F4A_7C15
        a = (a << 31) | (a >> 33)
        b = (b &+ word) &* 0xC2B2_AE3D_27D4_EB4F
        b = (b << 29) | (b >> 35)
        b ^= a
        length &+= 8
    }

    mutating func combine(bytes: UnsafeRawBufferPointer) {
        let words = bytes.count / 8
        for i in 0..<words { combine(bytes.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)) }
        var tail: UInt64 = 0
        for i in (8 * words)..<bytes.count { tail |= UInt64(bytes[i]) << (8 * UInt64(i - 8 * words)) }
        combine(tail ^ UInt64(bytes.count - 8 * words) << 56)
    }

    func finish() -> ContentHash {
        ContentHash(high: SplitMix64.mix(a ^ length), low: SplitMix64.mix(b ^ (a &+ length)))
    }
}
