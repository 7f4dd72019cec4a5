/// Sums, means and maxima over all elements or over given axes (Double accumulation for sums).
extension Tensor {
    /// Σ of all elements (Double accumulation, fixed order).
    public func sum() -> Float {
        withUnsafeBufferPointer { p in
            var acc = 0.0
            var i = 0
            while i < p.count {   // blocks of Float partials keep it fast and accurate
                let end = min(p.count, i + 256)
                var part: Float = 0
                for j in i..<end { part += p[j] }
                acc += Double(part)
                i = end
            }
            return Float(acc)
        }
    }

    public func mean() -> Float { count == 0 ? .nan : Float(Double(sum()) / Double(count)) }

    /// Shape with the reduced axes kept as size 1.
    func keptShape(_ axes: [Int], op: String) throws -> [Int] {
        var s = shape
        for a in axes {
            guard a >= 0 && a < rank else {
                throw TensorError.invalidArgument(op: op, reason: "axis \(a) out of range for shape \(shape)")
            }
            s[a] = 1
        }
        return s
    }

    static func normalizedAxes(_ axes: [Int], rank: Int) -> [Int] {
        Array(Set(axes.map { $0 < 0 ? $0 + rank : $0 })).sorted()
    }

    /// Σ over `axes` (negative axes count from the end); `keepDims` keeps them as size 1.
    public func sum(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        let ax = Tensor.normalizedAxes(axes, rank: rank)
        let kept = try keptShape(ax, op: "sum")
        let r = try summed(toShape: kept)
        return keepDims ? r : Tensor(uncheckedShape: shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element), storage: r.storage)
    }

    public func mean(axes: [Int], keepDims: Bool = false) throws -> Tensor {
        let ax = Tensor.normalizedAxes(axes, rank: rank)
        let n = ax.reduce(1) { $0 * shape[$1] }
        return try sum(axes: ax, keepDims: keepDims).map { $0 / Float(n) }
    }

    /// Maximum over `axes` and the flat index of the first maximum (NaN counts as the maximum).
    public func max(axes: [Int], keepDims: Bool = false) throws -> (values: Tensor, indices: [Int]) {
        let ax = Tensor.normalizedAxes(axes, rank: rank)
        let kept = try keptShape(ax, op: "max")
        guard ax.allSatisfy({ shape[$0] > 0 }) else {
            throw TensorError.invalidArgument(op: "max", reason: "reduction over an empty axis of shape \(shape)")
        }
        let n = kept.reduce(1, *)
        var best = [Float](repeating: -.infinity, count: n)
        var arg = [Int](repeating: -1, count: n)
        let st = [Tensor.strides(of: shape), Broadcast.strides(kept, to: shape)]
        withUnsafeBufferPointer { p in
            Broadcast.forEachRun(shape, st) { off, len, s in
                for i in 0..<len {
                    let src = off[0] + i * s[0], dst = off[1] + i * s[1]
                    let v = p[src]
                    if arg[dst] < 0 || v > best[dst] || (v.isNaN && !best[dst].isNaN) {
                        best[dst] = v
                        arg[dst] = src
                    }
                }
            }
        }
        let outShape = keepDims ? kept : shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
        return (Tensor(uncheckedShape: outShape, storage: best), arg)
    }

    /// Largest |x| (for tolerances and diagnostics).
    public func maxAbs() -> Float {
        withUnsafeBufferPointer { p in p.reduce(0) { Swift.max($0, abs($1)) } }
    }
}
