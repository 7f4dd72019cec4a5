/// MaxPool3d and adaptive average pooling to 1³ over [N, C, D, H, W].
public enum MaxPool3dKernel {
    /// Output size per axis: ⌊(n + 2p − k)/s⌋ + 1 (ceil_mode false, dilation 1).
    public static func outputSize(_ input: Size3, kernel k: Size3, stride s: Size3, padding p: Size3) -> Size3 {
        func o(_ n: Int, _ k: Int, _ s: Int, _ p: Int) -> Int { n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1 }
        return Size3(o(input.d, k.d, s.d, p.d), o(input.h, k.h, s.h, p.h), o(input.w, k.w, s.w, p.w))
    }

    /// y and, per output element, the flat index (within its [D, H, W] plane) of the first maximum
    /// in window order — PyTorch's tie rule; NaN wins (propagates) as in PyTorch.
    public static func forward(_ x: Tensor, kernel k: Size3, stride s: Size3, padding p: Size3, threads: Int = 1) throws -> (output: Tensor, indices: [Int32]) {
        let op = "maxPool3d"
        try x.requireRank(5, op: op)
        guard k.allPositive, s.allPositive, p.allNonNegative else {
            throw TensorError.invalidArgument(op: op, reason: "kernel \(k) and stride \(s) must be ≥ 1, padding \(p) ≥ 0")
        }
        guard 2 * p.d <= k.d, 2 * p.h <= k.h, 2 * p.w <= k.w else {
            throw TensorError.invalidArgument(op: op, reason: "padding \(p) must be at most half the kernel \(k)")
        }
        let inS = Size3(x.shape[2], x.shape[3], x.shape[4])
        let o = outputSize(inS, kernel: k, stride: s, padding: p)
        guard o.allPositive else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape], reason: "kernel \(k) does not fit the input")
        }
        let planes = x.shape[0] * x.shape[1], inV = inS.volume, outV = o.volume
        var y = Tensor(shape: [x.shape[0], x.shape[1]] + o.array)
        var idx = [Int32](repeating: 0, count: planes * outV)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in idx.withUnsafeMutableBufferPointer { ip in
            let (xb, yb, ib) = (xp.baseAddress!, yp.baseAddress!, ip.baseAddress!)
            Parallel.chunks(planes, threads: threads) { _, range in
                for plane in range {
                    let src = xb + plane * inV
                    var q = plane * outV
                    for od in 0..<o.d { for oh in 0..<o.h { for ow in 0..<o.w {
                        let d0 = od * s.d - p.d, h0 = oh * s.h - p.h, w0 = ow * s.w - p.w
                        var best = -Float.infinity, arg = -1
                        for d in max(0, d0)..<min(inS.d, d0 + k.d) {
                            for h in max(0, h0)..<min(inS.h, h0 + k.h) {
                                let row = (d * inS.h + h) * inS.w
                                for w in max(0, w0)..<min(inS.w, w0 + k.w) {
                                    let v = src[row + w]
                                    if arg < 0 || v > best || v.isNaN { best = v; arg = row + w; }
                                }
                            }
                        }
                        yb[q] = best
                        ib[q] = Int32(arg)
                        q += 1
                    } } }
                }
            }
        } } }
        return (y, idx)
    }

    /// dx: each output gradient goes to its recorded argmax.
    public static func backward(_ dy: Tensor, indices: [Int32], inputShape: [Int]) throws -> Tensor {
        guard inputShape.count == 5, dy.rank == 5, dy.shape[0] == inputShape[0], dy.shape[1] == inputShape[1], indices.count == dy.count else {
            throw TensorError.shapeMismatch(op: "maxPool3d backward", shapes: [dy.shape, inputShape], reason: "gradient does not fit the pooled input")
        }
        let planes = inputShape[0] * inputShape[1], inV = inputShape[2...].reduce(1, *), outV = dy.shape[2...].reduce(1, *)
        guard indices.allSatisfy({ $0 >= 0 && Int($0) < inV }) else {
            throw TensorError.invalidArgument(op: "maxPool3d backward", reason: "argmax indices do not belong to an input of shape \(inputShape)")
        }
        var dx = Tensor(shape: inputShape)
        dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
            for plane in 0..<planes {
                for q in 0..<outV {
                    let i = plane * outV + q
                    dp[plane * inV + Int(indices[i])] += gp[i]
                }
            }
        } }
        return dx
    }
}

/// AdaptiveAvgPool3d(1): [N, C, D, H, W] → [N, C, 1, 1, 1].
public enum GlobalAvgPoolKernel {
    public static func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank >= 3 else {
            throw TensorError.shapeMismatch(op: "adaptiveAvgPool3d", shapes: [x.shape], reason: "input must be [N, C, spatial…]")
        }
        let planes = x.shape[0] * x.shape[1], S = x.shape[2...].reduce(1, *)
        var y = Tensor(shape: [x.shape[0], x.shape[1]] + [Int](repeating: 1, count: x.rank - 2))
        x.withUnsafeBufferPointer { p in
            for i in 0..<planes { y[flat: i] = Float(BatchNormKernel.blockSum(p.baseAddress! + i * S, S) / Double(S)) }
        }
        return y
    }

    public static func backward(_ dy: Tensor, inputShape: [Int]) -> Tensor {
        let planes = inputShape[0] * inputShape[1], S = inputShape[2...].reduce(1, *)
        var dx = Tensor(shape: inputShape)
        dx.withUnsafeMutableBufferPointer { d in
            for i in 0..<planes {
                let v = dy[flat: i] / Float(S)
                (d.baseAddress! + i * S).update(repeating: v, count: S)
            }
        }
        return dx
    }
}
