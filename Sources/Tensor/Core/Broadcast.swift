/// NumPy/PyTorch broadcasting: shapes are aligned at the right, a dimension of 1 stretches.
/// Iteration coalesces adjacent dimensions that are contiguous for every operand, so the common
/// cases (same shape; [N, C, D, H, W] · [N, 1, D, H, W]; per-channel [1, C, 1, 1, 1]) run as a few
/// long inner loops.
enum Broadcast {
    static func shape(_ a: [Int], _ b: [Int], op: String) throws -> [Int] {
        let r = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: r - a.count) + a
        let pb = [Int](repeating: 1, count: r - b.count) + b
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            if pa[i] == pb[i] || pb[i] == 1 { out[i] = pa[i] }
            else if pa[i] == 1 { out[i] = pb[i] }
            else {
                throw TensorError.shapeMismatch(op: op, shapes: [a, b], reason: "dimension \(i) (\(pa[i]) vs \(pb[i])) cannot be broadcast")
            }
        }
        return out
    }

    /// Strides of `shape` seen through the broadcast to `out` (0 on stretched or missing dimensions).
    static func strides(_ shape: [Int], to out: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
        let s = Tensor.strides(of: padded)
        return (0..<out.count).map { padded[$0] == 1 && out[$0] != 1 ? 0 : (padded[$0] == 1 ? 0 : s[$0]) }
    }

    /// Merges adjacent dimensions where every operand's strides are contiguous across them.
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> ([Int], [[Int]]) {
        var dims: [Int] = []
        var st: [[Int]] = strides.map { _ in [] }
        for i in 0..<shape.count where shape[i] != 1 {
            if let last = dims.last, strides.indices.allSatisfy({ st[$0].last! == strides[$0][i] * shape[i] }) {
                dims[dims.count - 1] = last * shape[i]
                for k in strides.indices { st[k][st[k].count - 1] = strides[k][i] }
            } else {
                dims.append(shape[i])
                for k in strides.indices { st[k].append(strides[k][i]) }
            }
        }
        if dims.isEmpty { return ([1], strides.map { _ in [0] }) }
        return (dims, st)
    }

    /// Calls body(offsets, innerCount, innerStrides) for each run of the innermost coalesced
    /// dimension; `offsets[k]` is operand k's element offset at the start of the run.
    static func forEachRun(_ shape: [Int], _ strides: [[Int]], _ body: ([Int], Int, [Int]) -> Void) {
        let (dims, st) = coalesce(shape, strides)
        let r = dims.count
        let inner = dims[r - 1]
        let innerStrides = st.map { $0[r - 1] }
        let outer = dims.dropLast().reduce(1, *)
        var index = [Int](repeating: 0, count: max(0, r - 1))
        var offsets = [Int](repeating: 0, count: strides.count)
        for _ in 0..<outer {
            body(offsets, inner, innerStrides)
            var a = r - 2
            while a >= 0 {
                index[a] += 1
                for k in offsets.indices { offsets[k] += st[k][a] }
                if index[a] < dims[a] { break }
                for k in offsets.indices { offsets[k] -= st[k][a] * dims[a] }
                index[a] = 0
                a -= 1
            }
        }
    }
}

public enum BinaryOp: Sendable {
    case add, sub, mul, div
}

extension Tensor {
    /// Broadcasting a ∘ b.
    public static func binary(_ a: Tensor, _ b: Tensor, _ op: BinaryOp, name: String? = nil) throws -> Tensor {
        let opName = name ?? "\(op)"
        if a.shape == b.shape {
            var out = Tensor(uninitializedShape: a.shape)
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { po in
                run(op, pa.baseAddress!, 1, pb.baseAddress!, 1, po.baseAddress!, a.count)
            } } }
            return out
        }
        let shape = try Broadcast.shape(a.shape, b.shape, op: opName)
        var out = Tensor(shape: shape)
        let st = [Broadcast.strides(a.shape, to: shape), Broadcast.strides(b.shape, to: shape), Tensor.strides(of: shape)]
        a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in out.withUnsafeMutableBufferPointer { po in
            Broadcast.forEachRun(shape, st) { off, n, s in
                run(op, pa.baseAddress! + off[0], s[0], pb.baseAddress! + off[1], s[1], po.baseAddress! + off[2], n)
            }
        } } }
        return out
    }

    @inline(__always)
    static func run(_ op: BinaryOp, _ a: UnsafePointer<Float>, _ sa: Int, _ b: UnsafePointer<Float>, _ sb: Int,
                    _ o: UnsafeMutablePointer<Float>, _ n: Int) {
        switch (op, sa, sb) {
        case (.add, 1, 1): for i in 0..<n { o[i] = a[i] + b[i] }
        case (.sub, 1, 1): for i in 0..<n { o[i] = a[i] - b[i] }
        case (.mul, 1, 1): for i in 0..<n { o[i] = a[i] * b[i] }
        case (.div, 1, 1): for i in 0..<n { o[i] = a[i] / b[i] }
        case (.add, 1, 0): let v = b[0]; for i in 0..<n { o[i] = a[i] + v }
        case (.sub, 1, 0): let v = b[0]; for i in 0..<n { o[i] = a[i] - v }
        case (.mul, 1, 0): let v = b[0]; for i in 0..<n { o[i] = a[i] * v }
        case (.div, 1, 0): let v = b[0]; for i in 0..<n { o[i] = a[i] / v }
        case (.add, _, _): for i in 0..<n { o[i] = a[i * sa] + b[i * sb] }
        case (.sub, _, _): for i in 0..<n { o[i] = a[i * sa] - b[i * sb] }
        case (.mul, _, _): for i in 0..<n { o[i] = a[i * sa] * b[i * sb] }
        case (.div, _, _): for i in 0..<n { o[i] = a[i * sa] / b[i * sb] }
        }
    }

    /// Sums a broadcast result back to `target` (the adjoint of broadcasting `target` to `shape`).
    public func summed(toShape target: [Int]) throws -> Tensor {
        if target == shape { return self }
        let full = try Broadcast.shape(target, shape, op: "sumToShape")
        guard full == shape else {
            throw TensorError.shapeMismatch(op: "sumToShape", shapes: [shape, target], reason: "target does not broadcast to the source")
        }
        var acc = [Double](repeating: 0, count: target.reduce(1, *))
        let st = [Tensor.strides(of: shape), Broadcast.strides(target, to: shape)]
        withUnsafeBufferPointer { p in
            acc.withUnsafeMutableBufferPointer { q in
                Broadcast.forEachRun(shape, st) { off, n, s in
                    let src = p.baseAddress! + off[0]
                    if s[1] == 0 {
                        var sum: Double = 0
                        for i in 0..<n { sum += Double(src[i * s[0]]) }
                        q[off[1]] += sum
                    } else {
                        for i in 0..<n { q[off[1] + i * s[1]] += Double(src[i * s[0]]) }
                    }
                }
            }
        }
        return Tensor(uncheckedShape: target, storage: acc.map { Float($0) })
    }

    /// Elementwise f(x) (f is inlined into the loop).
    @inline(__always)
    public func map(_ f: (Float) -> Float) -> Tensor {
        let out = withUnsafeBufferPointer { p in
            [Float](unsafeUninitializedCapacity: p.count) { o, n in
                for i in 0..<p.count { o[i] = f(p[i]) }
                n = p.count
            }
        }
        return Tensor(uncheckedShape: shape, storage: out)
    }

    /// Elementwise f(x, y) on two tensors of the same shape (internal: callers guarantee the shapes).
    @inline(__always)
    func zipMap(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        let out = withUnsafeBufferPointer { p in other.withUnsafeBufferPointer { q in
            [Float](unsafeUninitializedCapacity: p.count) { o, n in
                for i in 0..<p.count { o[i] = f(p[i], q[i]) }
                n = p.count
            }
        } }
        return Tensor(uncheckedShape: shape, storage: out)
    }
}
