import Foundation

/// Running statistics of a BatchNorm layer (PyTorch buffers `running_mean`, `running_var`,
/// `num_batches_tracked`). A class: the layer owns it and training steps update it in place.
public final class BatchNormState {
    public var runningMean: Tensor
    public var runningVar: Tensor
    public var numBatchesTracked: Int64

    public init(channels: Int) {
        runningMean = Tensor(shape: [channels], repeating: 0)
        runningVar = Tensor(shape: [channels], repeating: 1)
        numBatchesTracked = 0
    }

    public var channels: Int { runningMean.count }
}

/// BatchNorm over [N, C, …] (BatchNorm3d for rank 5; any rank ≥ 2), with PyTorch's semantics:
/// training normalises by the batch mean and the *biased* variance and updates
/// running_var with the *unbiased* one; evaluation uses the running statistics.
/// Channels are independent, so the per-channel loops split over threads without changing results.
public enum BatchNormKernel {
    /// Per-channel statistics of a training forward (what the backward needs).
    public struct BatchStatistics: Sendable {
        public var mean: [Float]
        public var invStd: [Float]
        /// Biased (normalising) and unbiased (running update) variances.
        public var variance: [Float]
        public var unbiasedVariance: [Float]
    }

    static func dims(_ x: Tensor, channels: Int, op: String) throws -> (n: Int, c: Int, s: Int) {
        guard x.rank >= 2, x.shape[1] == channels else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, [channels]], reason: "input must be [N, C, …] with C = \(channels) channels")
        }
        return (x.shape[0], channels, x.shape.dropFirst(2).reduce(1, *))
    }

    /// Training forward: y = γ·(x − μ_B)/√(σ²_B + eps) + β.
    public static func forwardTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float = 1e-5,
                                       threads: Int = 1) throws -> (output: Tensor, statistics: BatchStatistics) {
        let (N, C, S) = try dims(x, channels: gamma.count, op: "batchNorm")
        guard beta.count == C else { throw TensorError.shapeMismatch(op: "batchNorm", shapes: [gamma.shape, beta.shape], reason: "weight and bias differ") }
        let M = N * S
        guard M > 1 else {
            throw TensorError.invalidArgument(op: "batchNorm", reason: "expected more than 1 value per channel when training, got input \(x.shape)")
        }
        var stats = BatchStatistics(mean: .init(repeating: 0, count: C), invStd: .init(repeating: 0, count: C),
                                    variance: .init(repeating: 0, count: C), unbiasedVariance: .init(repeating: 0, count: C))
        var y = Tensor(shape: x.shape)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            gamma.withUnsafeBufferPointer { gp in beta.withUnsafeBufferPointer { bp in
            stats.mean.withUnsafeMutableBufferPointer { mp in stats.invStd.withUnsafeMutableBufferPointer { ip in
            stats.variance.withUnsafeMutableBufferPointer { vp in stats.unbiasedVariance.withUnsafeMutableBufferPointer { up in
                let (xb, yb, mb, ib, vb, ub) = (xp.baseAddress!, yp.baseAddress!, mp.baseAddress!, ip.baseAddress!, vp.baseAddress!, up.baseAddress!)
                Parallel.chunks(C, threads: threads) { _, range in
                    for c in range {
                        var sum = 0.0
                        for n in 0..<N { sum += blockSum(xb + (n * C + c) * S, S) }
                        let mean = Float(sum / Double(M))
                        var sq = 0.0
                        for n in 0..<N {
                            let p = xb + (n * C + c) * S
                            // Double sums: float32 partials over a 16³ map cost the BN γ gradient ~3 % (ModelGoldenTests)
                            for i in 0..<S { let d = Double(p[i]) - Double(mean); sq += d * d }
                        }
                        let variance = sq / Double(M)
                        let inv = Float(1 / (variance + Double(eps)).squareRoot())
                        mb[c] = mean; ib[c] = inv; vb[c] = Float(variance); ub[c] = Float(sq / Double(M - 1))
                        let scale = gp[c] * inv, shift = bp[c] - mean * scale
                        for n in 0..<N {
                            let p = xb + (n * C + c) * S, q = yb + (n * C + c) * S
                            for i in 0..<S { q[i] = p[i] * scale + shift }
                        }
                    }
                }
            } } } } } }
        } }
        return (y, stats)
    }

    /// running ← (1 − momentum)·running + momentum·batch (unbiased variance); num_batches_tracked += 1.
    public static func updateRunningStatistics(_ state: BatchNormState, _ stats: BatchStatistics, momentum: Float = 0.1) {
        state.runningMean.withUnsafeMutableBufferPointer { m in
            for c in 0..<m.count { m[c] = (1 - momentum) * m[c] + momentum * stats.mean[c] }
        }
        state.runningVar.withUnsafeMutableBufferPointer { v in
            for c in 0..<v.count { v[c] = (1 - momentum) * v[c] + momentum * stats.unbiasedVariance[c] }
        }
        state.numBatchesTracked += 1
    }

    /// Training backward: (dx, dγ, dβ).
    public static func backwardTraining(_ dy: Tensor, input x: Tensor, gamma: Tensor, statistics: BatchStatistics,
                                        threads: Int = 1) throws -> (input: Tensor, gamma: Tensor, beta: Tensor) {
        let (N, C, S) = try dims(x, channels: gamma.count, op: "batchNorm backward")
        guard dy.shape == x.shape else { throw TensorError.shapeMismatch(op: "batchNorm backward", shapes: [dy.shape, x.shape], reason: "gradient and input differ") }
        let M = Float(N * S)
        var dx = Tensor(shape: x.shape), dg = Tensor(shape: [C]), db = Tensor(shape: [C])
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
        dg.withUnsafeMutableBufferPointer { dgp in db.withUnsafeMutableBufferPointer { dbp in gamma.withUnsafeBufferPointer { gam in
            let (xb, gb, db0, dgb, dbb) = (xp.baseAddress!, gp.baseAddress!, dp.baseAddress!, dgp.baseAddress!, dbp.baseAddress!)
            Parallel.chunks(C, threads: threads) { _, range in
                for c in range {
                    let mean = statistics.mean[c], inv = statistics.invStd[c]
                    var sdy = 0.0, sdyx = 0.0
                    for n in 0..<N {
                        let p = xb + (n * C + c) * S, g = gb + (n * C + c) * S
                        var a: Float = 0, b: Float = 0
                        for i in 0..<S { a += g[i]; b += g[i] * (p[i] - mean) }
                        sdy += Double(a); sdyx += Double(b)
                    }
                    let dbeta = Float(sdy), dgamma = Float(sdyx) * inv
                    dbb[c] = dbeta; dgb[c] = dgamma
                    let k = gam[c] * inv / M
                    for n in 0..<N {
                        let p = xb + (n * C + c) * S, g = gb + (n * C + c) * S, d = db0 + (n * C + c) * S
                        for i in 0..<S { d[i] = k * (M * g[i] - dbeta - (p[i] - mean) * inv * dgamma) }
                    }
                }
            }
        } } } } } }
        return (dx, dg, db)
    }

    /// Evaluation forward with the running statistics.
    public static func forwardEvaluation(_ x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, eps: Float = 1e-5) throws -> Tensor {
        let (N, C, S) = try dims(x, channels: gamma.count, op: "batchNorm")
        guard beta.count == C, state.channels == C else {
            throw TensorError.shapeMismatch(op: "batchNorm", shapes: [gamma.shape, beta.shape, state.runningMean.shape], reason: "weight, bias and running statistics differ")
        }
        var y = Tensor(shape: x.shape)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            for c in 0..<C {
                let inv = 1 / (state.runningVar[flat: c] + eps).squareRoot()
                let scale = gamma[flat: c] * inv, shift = beta[flat: c] - state.runningMean[flat: c] * scale
                for n in 0..<N {
                    let p = xp.baseAddress! + (n * C + c) * S, q = yp.baseAddress! + (n * C + c) * S
                    for i in 0..<S { q[i] = p[i] * scale + shift }
                }
            }
        } }
        return y
    }

    /// Evaluation backward (the statistics are constants): (dx, dγ, dβ).
    public static func backwardEvaluation(_ dy: Tensor, input x: Tensor, gamma: Tensor, state: BatchNormState, eps: Float = 1e-5) throws -> (input: Tensor, gamma: Tensor, beta: Tensor) {
        let (N, C, S) = try dims(x, channels: gamma.count, op: "batchNorm backward")
        var dx = Tensor(shape: x.shape), dg = Tensor(shape: [C]), db = Tensor(shape: [C])
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
            for c in 0..<C {
                let inv = 1 / (state.runningVar[flat: c] + eps).squareRoot(), mean = state.runningMean[flat: c]
                let k = gamma[flat: c] * inv
                var sdy = 0.0, sdyx = 0.0
                for n in 0..<N {
                    let o = (n * C + c) * S
                    let p = xp.baseAddress! + o, g = gp.baseAddress! + o, d = dp.baseAddress! + o
                    var a: Float = 0, b: Float = 0
                    for i in 0..<S { d[i] = k * g[i]; a += g[i]; b += g[i] * (p[i] - mean) }
                    sdy += Double(a); sdyx += Double(b)
                }
                db[flat: c] = Float(sdy); dg[flat: c] = Float(sdyx) * inv
            }
        } } }
        return (dx, dg, db)
    }

    @inline(__always) static func blockSum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var acc: Double = 0
        var i = 0
        while i < n {
            let end = min(n, i + 512)
            var part: Float = 0
            for j in i..<end { part += p[j] }
            acc += Double(part)
            i = end
        }
        return acc
    }
}
