/// A triple (depth, height, width) for kernel sizes, strides, paddings and volume sizes.
/// An integer literal means the same value on all three axes, as in PyTorch (`kernel_size=3`).
public struct Size3: Hashable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var d: Int
    public var h: Int
    public var w: Int

    public init(_ d: Int, _ h: Int, _ w: Int) { self.d = d; self.h = h; self.w = w }
    public init(_ all: Int) { self.init(all, all, all) }
    public init(integerLiteral value: Int) { self.init(value) }

    public var volume: Int { d * h * w }
    public var array: [Int] { [d, h, w] }
    public var description: String { d == h && h == w ? "\(d)" : "(\(d), \(h), \(w))" }
    var allPositive: Bool { d > 0 && h > 0 && w > 0 }
    var allNonNegative: Bool { d >= 0 && h >= 0 && w >= 0 }
}
