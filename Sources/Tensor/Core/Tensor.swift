/// A dense Float32 tensor in row-major (C) order.
///
/// Storage is a Swift `[Float]`: class-backed and copy-on-write, so `reshaped` is a free view and a
/// mutation after a copy duplicates the buffer once. Volumes use the **NCDHW** layout (PyTorch's
/// default): weights and state_dict tensors need no conversion, and the convolution kernels tile
/// the contiguous spatial axis into bounded vol2col buffers (see Kernels/Conv3d.swift).
/// `ndhwcToNcdhw()` / `ncdhwToNdhwc()` convert at the edges when channels-last data arrives.
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    public private(set) var shape: [Int]
    /// The elements in row-major order; `count == shape.reduce(1, *)` always holds.
    public private(set) var storage: [Float]

    /// Wraps `storage`; throws when its length does not match the shape.
    public init(shape: [Int], storage: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "Tensor.init", reason: "negative dimension in shape \(shape)")
        }
        let n = shape.reduce(1, *)
        guard n == storage.count else {
            throw TensorError.shapeMismatch(op: "Tensor.init", shapes: [shape, [storage.count]],
                                            reason: "shape holds \(n) elements, storage has \(storage.count)")
        }
        self.shape = shape
        self.storage = storage
    }

    /// A tensor filled with `value` (zeros by default). Negative dimensions are clamped to 0.
    public init(shape: [Int], repeating value: Float = 0) {
        let s = shape.map { Swift.max(0, $0) }
        self.shape = s
        self.storage = [Float](repeating: value, count: s.reduce(1, *))
    }

    /// A scalar (rank 0) tensor.
    public init(scalar: Float) {
        shape = []
        storage = [scalar]
    }

    /// Storage left unwritten (no zero fill) for outputs a kernel overwrites completely.
    init(uninitializedShape shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.storage = [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
    }

    init(uncheckedShape shape: [Int], storage: [Float]) {
        self.shape = shape
        self.storage = storage
    }

    public var count: Int { storage.count }
    public var rank: Int { shape.count }
    /// The single element of a one-element tensor (a loss), else nil.
    public var scalarValue: Float? { storage.count == 1 ? storage[0] : nil }

    public var description: String {
        let head = storage.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(storage.count > 8 ? ", …" : "")])"
    }

    // MARK: raw access (kernels)

    @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    public mutating func withUnsafeMutableBufferPointer<R>(_ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer(body)
    }

    /// Element at a flat row-major index.
    public subscript(flat i: Int) -> Float {
        get { storage[i] }
        set { storage[i] = newValue }
    }

    // MARK: checks

    /// True when no element is NaN or ±Inf.
    public var isFinite: Bool {
        storage.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return true }
            // x·0 is ±0 for every finite x and NaN for NaN and ±Inf, so a block's sum of x·0 is 0
            // exactly when the block is finite: a branch-free loop the compiler vectorises (the
            // tape checks every gradient of every step with this), one early exit per block.
            let raw = UnsafeRawPointer(base)
            var i = 0
            while i < p.count {
                let end = Swift.min(p.count, i + 4096)
                var acc = SIMD16<Float>(repeating: 0)
                var j = i
                while j + 16 <= end { acc += raw.loadUnaligned(fromByteOffset: j * 4, as: SIMD16<Float>.self) * 0; j += 16 }
                var tail: Float = 0
                while j < end { tail += base[j] * 0; j += 1 }
                if acc.sum() + tail != 0 { return false }
                i = end
            }
            return true
        }
    }

    /// Throws `TensorError.nonFinite` naming `op` and `what` when an element is NaN or ±Inf.
    public func requireFinite(op: String, what: String = "input") throws {
        if !isFinite { throw TensorError.nonFinite(op: op, what: what, shape: shape) }
    }

    /// Throws unless the rank is `rank`.
    public func requireRank(_ rank: Int, op: String, what: String = "input") throws {
        guard shape.count == rank else {
            throw TensorError.shapeMismatch(op: op, shapes: [shape], reason: "\(what) must have rank \(rank), has \(shape.count)")
        }
    }

    // MARK: shape manipulation

    /// The same elements under a new shape (no copy). One dimension may be -1 (inferred).
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        var s = newShape
        let unknown = s.indices.filter { s[$0] == -1 }
        guard unknown.count <= 1, s.allSatisfy({ $0 >= -1 }) else {
            throw TensorError.invalidArgument(op: "reshape", reason: "bad target shape \(newShape)")
        }
        if let u = unknown.first {
            let known = s.enumerated().filter { $0.offset != u }.map(\.element).reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(op: "reshape", shapes: [shape, newShape], reason: "cannot infer the -1 dimension")
            }
            s[u] = count / known
        }
        guard s.reduce(1, *) == count else {
            throw TensorError.shapeMismatch(op: "reshape", shapes: [shape, newShape], reason: "element counts differ")
        }
        return Tensor(uncheckedShape: s, storage: storage)
    }

    /// Samples `range` of the leading (batch) axis, as a copy.
    public func batchSlice(_ range: Range<Int>) throws -> Tensor {
        guard rank >= 1, range.lowerBound >= 0, range.upperBound <= shape[0] else {
            throw TensorError.invalidArgument(op: "batchSlice", reason: "range \(range) outside batch of shape \(shape)")
        }
        let per = shape.dropFirst().reduce(1, *)
        var s = shape
        s[0] = range.count
        return Tensor(uncheckedShape: s, storage: Array(storage[(range.lowerBound * per)..<(range.upperBound * per)]))
    }

    /// Concatenates along the leading (batch) axis; all other dimensions must agree.
    public static func concatBatch(_ parts: [Tensor]) throws -> Tensor {
        guard let first = parts.first, first.rank >= 1 else {
            throw TensorError.invalidArgument(op: "concatBatch", reason: "needs at least one tensor of rank ≥ 1")
        }
        let tail = Array(first.shape.dropFirst())
        var storage: [Float] = []
        storage.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var n = 0
        for p in parts {
            guard p.rank == first.rank, Array(p.shape.dropFirst()) == tail else {
                throw TensorError.shapeMismatch(op: "concatBatch", shapes: parts.map(\.shape), reason: "non-batch dimensions differ")
            }
            storage.append(contentsOf: p.storage)
            n += p.shape[0]
        }
        return Tensor(uncheckedShape: [n] + tail, storage: storage)
    }

    /// Axes reordered: result dimension i is input dimension `axes[i]` (as `torch.permute`).
    public func permuted(_ axes: [Int]) throws -> Tensor {
        guard axes.count == rank, Set(axes) == Set(0..<rank) else {
            throw TensorError.invalidArgument(op: "permute", reason: "axes \(axes) are not a permutation of 0..<\(rank)")
        }
        if axes == Array(0..<rank) { return self }
        let inStrides = Tensor.strides(of: shape)
        let outShape = axes.map { shape[$0] }
        let srcStrides = axes.map { inStrides[$0] }
        var out = [Float](repeating: 0, count: count)
        storage.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var index = [Int](repeating: 0, count: rank)
                var offset = 0
                for i in 0..<count {
                    dst[i] = src[offset]
                    var a = rank - 1
                    while a >= 0 {
                        index[a] += 1
                        offset += srcStrides[a]
                        if index[a] < outShape[a] { break }
                        offset -= srcStrides[a] * outShape[a]
                        index[a] = 0
                        a -= 1
                    }
                }
            }
        }
        return Tensor(uncheckedShape: outShape, storage: out)
    }

    /// Channels-last [N, D, H, W, C] → [N, C, D, H, W].
    public func ndhwcToNcdhw() throws -> Tensor {
        try requireRank(5, op: "ndhwcToNcdhw")
        return try permuted([0, 4, 1, 2, 3])
    }

    /// [N, C, D, H, W] → channels-last [N, D, H, W, C].
    public func ncdhwToNdhwc() throws -> Tensor {
        try requireRank(5, op: "ncdhwToNdhwc")
        return try permuted([0, 2, 3, 4, 1])
    }

    /// Row-major strides of a shape.
    public static func strides(of shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= shape[i]
        }
        return s
    }
}
