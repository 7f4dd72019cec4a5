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
        /// γ·invStd and β − mean·γ·invStd: the forward's affine map (the fused ReLU's mask needs it).
        public var scale: [Float]
        public var shift: [Float]
    }

    static func dims(_ x: Tensor, channels: Int, op: String) throws -> (n: Int, c: Int, s: Int) {
        guard x.rank >= 2, x.shape[1] == channels else {
            throw TensorError.shapeMismatch(op: op, shapes: [x.shape, [channels]], reason: "input must be [N, C, …] with C = \(channels) channels")
        }
        return (x.shape[0], channels, x.shape.dropFirst(2).reduce(1, *))
    }

    /// Training forward: y = γ·(x − μ_B)/√(σ²_B + eps) + β, and with `relu` y = max(0, that) in the
    /// same pass (BatchNorm followed by ReLU, as the model uses it: one write of the output instead of
    /// two full-size passes and a second tensor). Statistics: two passes (mean, then Σ(x − μ)²), each
    /// summed in 16-lane float blocks of ≤ 4096 elements added into a Double.
    /// Threads split the (channel, sample-slab) work: channels first, and when there are fewer
    /// channels than threads, spatial slabs of each channel (partials combined in a fixed order).
    public static func forwardTraining(_ x: Tensor, gamma: Tensor, beta: Tensor, eps: Float = 1e-5,
                                       threads: Int = 1, relu: Bool = false) throws -> (output: Tensor, statistics: BatchStatistics) {
        let (N, C, S) = try dims(x, channels: gamma.count, op: relu ? "batchNormReLU" : "batchNorm")
        guard beta.count == C else { throw TensorError.shapeMismatch(op: "batchNorm", shapes: [gamma.shape, beta.shape], reason: "weight and bias differ") }
        let M = N * S
        guard M > 1 else {
            throw TensorError.invalidArgument(op: "batchNorm", reason: "expected more than 1 value per channel when training, got input \(x.shape)")
        }
        var stats = BatchStatistics(mean: .init(repeating: 0, count: C), invStd: .init(repeating: 0, count: C),
                                    variance: .init(repeating: 0, count: C), unbiasedVariance: .init(repeating: 0, count: C),
                                    scale: .init(repeating: 0, count: C), shift: .init(repeating: 0, count: C))
        var y = Tensor(uninitializedShape: x.shape)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            gamma.withUnsafeBufferPointer { gp in beta.withUnsafeBufferPointer { bp in
                let xb = xp.baseAddress!, yb = yp.baseAddress!
                // Σx per channel, then Σ(x − μ)² per channel (per-plane partials, summed in order).
                let sums = planeReduce(N, C, S, threads: threads) { plane, lo, hi in
                    blockSum(xb + plane * S + lo, hi - lo)
                }
                let means = (0..<C).map { c in Float(sums[c] / Double(M)) }
                let squares = planeReduce(N, C, S, threads: threads) { plane, lo, hi in
                    blockSquares(xb + plane * S + lo, hi - lo, mean: means[plane % C])
                }
                for c in 0..<C {
                    let variance = squares[c] / Double(M)
                    let inv = Float(1 / (variance + Double(eps)).squareRoot())
                    let scale = gp[c] * inv
                    stats.mean[c] = means[c]; stats.invStd[c] = inv
                    stats.variance[c] = Float(variance); stats.unbiasedVariance[c] = Float(squares[c] / Double(M - 1))
                    stats.scale[c] = scale; stats.shift[c] = bp[c] - means[c] * scale
                }
                let (scales, shifts) = (stats.scale, stats.shift)
                planeApply(N, C, S, threads: threads) { plane, lo, hi in
                    let c = plane % C
                    let p = xb + plane * S, q = yb + plane * S
                    let scale = scales[c], shift = shifts[c]
                    if relu {
                        for i in lo..<hi { let v = p[i] * scale + shift; q[i] = v < 0 ? 0 : v }
                    } else {
                        for i in lo..<hi { q[i] = p[i] * scale + shift }
                    }
                }
            } }
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

    /// Training backward: (dx, dγ, dβ). With `relu` the forward was `forwardTraining(…, relu: true)`
    /// and dy is the gradient of the ReLU's output: it is masked where the BatchNorm output
    /// x·scale + shift (recomputed with the forward's own operations, so bit-identical) is not > 0 —
    /// PyTorch's ReLU gradient, 0 at 0 — inside the same passes.
    public static func backwardTraining(_ dy: Tensor, input x: Tensor, gamma: Tensor, statistics: BatchStatistics,
                                        threads: Int = 1, relu: Bool = false) throws -> (input: Tensor, gamma: Tensor, beta: Tensor) {
        let (N, C, S) = try dims(x, channels: gamma.count, op: "batchNorm backward")
        guard dy.shape == x.shape else { throw TensorError.shapeMismatch(op: "batchNorm backward", shapes: [dy.shape, x.shape], reason: "gradient and input differ") }
        guard statistics.mean.count == C, statistics.scale.count == C else {
            throw TensorError.shapeMismatch(op: "batchNorm backward", shapes: [[statistics.mean.count], [C]], reason: "statistics do not match the channels")
        }
        let M = Float(N * S)
        var dx = Tensor(uninitializedShape: x.shape), dg = Tensor(shape: [C]), db = Tensor(shape: [C])
        let means = statistics.mean, invs = statistics.invStd, scales = statistics.scale, shifts = statistics.shift
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
        dg.withUnsafeMutableBufferPointer { dgp in db.withUnsafeMutableBufferPointer { dbp in gamma.withUnsafeBufferPointer { gam in
            let (xb, gb, d0) = (xp.baseAddress!, gp.baseAddress!, dp.baseAddress!)
            // Σ g' and Σ g'·(x − μ) per channel, g' = the (masked) incoming gradient.
            let pairs = planePairReduce(N, C, S, threads: threads) { plane, lo, hi in
                let c = plane % C
                return blockGradientSums(xb + plane * S + lo, gb + plane * S + lo, hi - lo, mean: means[c],
                                         relu: relu, scale: scales[c], shift: shifts[c])
            }
            var kc = [Float](repeating: 0, count: C), dbeta = [Float](repeating: 0, count: C), dgamma = [Float](repeating: 0, count: C)
            for c in 0..<C {
                dbeta[c] = Float(pairs[c].0); dgamma[c] = Float(pairs[c].1) * invs[c]
                dbp[c] = dbeta[c]; dgp[c] = dgamma[c]
                kc[c] = gam[c] * invs[c] / M
            }
            planeApply(N, C, S, threads: threads) { plane, lo, hi in
                let c = plane % C
                let p = xb + plane * S, g = gb + plane * S, d = d0 + plane * S
                let k = kc[c], mean = means[c], inv = invs[c], b = dbeta[c], a = dgamma[c]
                if relu {
                    let scale = scales[c], shift = shifts[c]
                    for i in lo..<hi {
                        let gl = g[i], v = p[i] * scale + shift
                        let gi = v > 0 ? gl : 0
                        d[i] = k * (M * gi - b - (p[i] - mean) * inv * a)
                    }
                } else {
                    for i in lo..<hi { d[i] = k * (M * g[i] - b - (p[i] - mean) * inv * a) }
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
        var y = Tensor(uninitializedShape: x.shape)
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
        var dx = Tensor(uninitializedShape: x.shape), dg = Tensor(shape: [C]), db = Tensor(shape: [C])
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

    // MARK: threaded, vectorised passes over the N·C planes of S elements

    typealias V = SIMD16<Float>
    /// Elements per float partial before it is added into a Double (accuracy: ≤ 4096/16 = 256 adds per lane).
    static let block = 4096

    /// Splits every plane (sample n, channel c) into `parts` slabs so that N·C·parts ≥ threads, and
    /// runs `body(plane, lo, hi)` over all slabs on `threads` threads (static chunks).
    static func planeApply(_ N: Int, _ C: Int, _ S: Int, threads: Int, _ body: (Int, Int, Int) -> Void) {
        let parts = slabs(N * C, S, threads)
        let work = N * C * parts
        Parallel.chunks(work, threads: work * S >= 32_768 ? threads : 1) { _, range in
            for item in range {
                let plane = item / parts, part = item % parts
                body(plane, S * part / parts, S * (part + 1) / parts)
            }
        }
    }

    static func slabs(_ planes: Int, _ S: Int, _ threads: Int) -> Int {
        planes >= 4 * threads ? 1 : max(1, min(S / block, (4 * threads + planes - 1) / planes))
    }

    /// Per-channel Double totals of `part(plane, lo, hi)` over every slab; slabs are summed in a fixed
    /// order, so results do not depend on scheduling (only on the thread count through the slabs).
    static func planeReduce(_ N: Int, _ C: Int, _ S: Int, threads: Int, _ part: (Int, Int, Int) -> Double) -> [Double] {
        planePairReduce(N, C, S, threads: threads) { (part($0, $1, $2), 0) }.map(\.0)
    }

    static func planePairReduce(_ N: Int, _ C: Int, _ S: Int, threads: Int,
                                _ part: (Int, Int, Int) -> (Double, Double)) -> [(Double, Double)] {
        let parts = slabs(N * C, S, threads)
        let work = N * C * parts
        let partials = UnsafeMutablePointer<(Double, Double)>.allocate(capacity: work)
        defer { partials.deallocate() }
        Parallel.chunks(work, threads: work * S >= 32_768 ? threads : 1) { _, range in
            for item in range {
                let plane = item / parts, p = item % parts
                partials[item] = part(plane, S * p / parts, S * (p + 1) / parts)
            }
        }
        var out = [(Double, Double)](repeating: (0, 0), count: C)
        for item in 0..<work {
            let c = (item / parts) % C
            out[c].0 += partials[item].0; out[c].1 += partials[item].1
        }
        return out
    }

    /// Σ p[0..<n]: 16-lane float partials over blocks of `block`, each block added into a Double.
    @inline(__always) static func blockSum(_ p: UnsafePointer<Float>, _ n: Int) -> Double {
        var acc: Double = 0
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i < n {
            let end = min(n, i + block)
            var v = V(repeating: 0)
            var j = i
            while j + 16 <= end { v += raw.loadUnaligned(fromByteOffset: j * 4, as: V.self); j += 16 }
            var tail: Float = 0
            while j < end { tail += p[j]; j += 1 }
            acc += Double(v.sum()) + Double(tail)
            i = end
        }
        return acc
    }

    /// Σ (p − mean)² over n elements, blocked as `blockSum`.
    @inline(__always) static func blockSquares(_ p: UnsafePointer<Float>, _ n: Int, mean: Float) -> Double {
        var acc: Double = 0
        var i = 0
        let raw = UnsafeRawPointer(p)
        let m = V(repeating: mean)
        while i < n {
            let end = min(n, i + block)
            var v = V(repeating: 0)
            var j = i
            while j + 16 <= end { let d = raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) - m; v += d * d; j += 16 }
            var tail: Float = 0
            while j < end { let d = p[j] - mean; tail += d * d; j += 1 }
            acc += Double(v.sum()) + Double(tail)
            i = end
        }
        return acc
    }

    /// (Σ g', Σ g'·(x − mean)) over n elements; g' = g, or with `relu` g where x·scale + shift > 0 else 0.
    /// The masked block is first written to a small stack buffer by a plain select loop (which the
    /// compiler vectorises; a SIMDMask `replacing` per vector measured 3× slower than no mask), then reduced.
    @inline(__always) static func blockGradientSums(_ x: UnsafePointer<Float>, _ g: UnsafePointer<Float>, _ n: Int, mean: Float,
                                                    relu: Bool, scale: Float, shift: Float) -> (Double, Double) {
        var a: Double = 0, b: Double = 0
        let m = V(repeating: mean)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { scratch in
            let masked = scratch.baseAddress!
            var i = 0
            while i < n {
                let len = min(n - i, block)
                let xs = x + i
                var gs = g + i
                if relu {
                    // both loads unconditional: a select the compiler vectorises, not a branch per element
                    for j in 0..<len { let gj = gs[j], v = xs[j] * scale + shift; masked[j] = v > 0 ? gj : 0 }
                    gs = UnsafePointer(masked)
                }
                let rx = UnsafeRawPointer(xs), rg = UnsafeRawPointer(gs)
                var va = V(repeating: 0), vb = V(repeating: 0)
                var j = 0
                while j + 16 <= len {
                    let xv = rx.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                    let gv = rg.loadUnaligned(fromByteOffset: j * 4, as: V.self)
                    va += gv
                    vb += gv * (xv - m)
                    j += 16
                }
                var ta: Float = 0, tb: Float = 0
                while j < len { ta += gs[j]; tb += gs[j] * (xs[j] - mean); j += 1 }
                a += Double(va.sum()) + Double(ta); b += Double(vb.sum()) + Double(tb)
                i += len
            }
        }
        return (a, b)
    }
}
