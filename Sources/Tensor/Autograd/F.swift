import Foundation

/// Differentiable operations on `Variable`s (the engine's `torch.nn.functional`). Each computes its
/// forward with a kernel and, when `ctx.tape` is set and an operand requires a gradient, records the
/// matching backward kernel. Without a tape nothing is recorded and no activation is kept.
/// All throw `TensorError` on bad shapes or arguments, naming the operation and the shapes.
public enum F {
    /// Wraps a forward result; records `rule` when a tape is present and an input needs a gradient.
    /// `saved` = floats the rule keeps alive (for the tape's memory accounting).
    public static func record(_ op: String, _ value: Tensor, inputs: [Variable], ctx: ComputeContext, saved: Int,
                              rule: @escaping (Tensor) throws -> [Tensor?]) -> Variable {
        let needs = ctx.tape != nil && inputs.contains { $0.requiresGrad }
        let out = Variable(result: value, requiresGrad: needs)
        if needs, let tape = ctx.tape { tape.record(op, inputs: inputs, output: out, saved: saved, rule: rule) }
        return out
    }

    // MARK: elementwise with broadcasting

    public static func add(_ a: Variable, _ b: Variable, _ ctx: ComputeContext) throws -> Variable {
        let y = try Tensor.binary(a.value, b.value, .add, name: "add")
        let (sa, sb) = (a.shape, b.shape)
        return record("add", y, inputs: [a, b], ctx: ctx, saved: 0) { g in [try g.summed(toShape: sa), try g.summed(toShape: sb)] }
    }

    public static func sub(_ a: Variable, _ b: Variable, _ ctx: ComputeContext) throws -> Variable {
        let y = try Tensor.binary(a.value, b.value, .sub, name: "sub")
        let (sa, sb) = (a.shape, b.shape)
        return record("sub", y, inputs: [a, b], ctx: ctx, saved: 0) { g in
            [try g.summed(toShape: sa), try g.summed(toShape: sb).map { -$0 }]
        }
    }

    /// a·b with broadcasting (e.g. features [N, C, D, H, W] times an attention map [N, 1, D, H, W]).
    public static func mul(_ a: Variable, _ b: Variable, _ ctx: ComputeContext) throws -> Variable {
        let y = try Tensor.binary(a.value, b.value, .mul, name: "mul")
        let (va, vb) = (a.value, b.value)
        return record("mul", y, inputs: [a, b], ctx: ctx, saved: a.value.count + b.value.count) { g in
            [a.requiresGrad ? try Tensor.binary(g, vb, .mul).summed(toShape: va.shape) : nil,
             b.requiresGrad ? try Tensor.binary(g, va, .mul).summed(toShape: vb.shape) : nil]
        }
    }

    public static func div(_ a: Variable, _ b: Variable, _ ctx: ComputeContext) throws -> Variable {
        let y = try Tensor.binary(a.value, b.value, .div, name: "div")
        let (va, vb) = (a.value, b.value)
        return record("div", y, inputs: [a, b], ctx: ctx, saved: a.value.count + b.value.count + y.count) { g in
            let ga = try Tensor.binary(g, vb, .div)
            return [a.requiresGrad ? try ga.summed(toShape: va.shape) : nil,
                    b.requiresGrad ? try Tensor.binary(ga, y, .mul).map { -$0 }.summed(toShape: vb.shape) : nil]
        }
    }

    public static func addScalar(_ x: Variable, _ s: Float, _ ctx: ComputeContext) -> Variable {
        record("addScalar", x.value.map { $0 + s }, inputs: [x], ctx: ctx, saved: 0) { g in [g] }
    }

    public static func mulScalar(_ x: Variable, _ s: Float, _ ctx: ComputeContext) -> Variable {
        record("mulScalar", x.value.map { $0 * s }, inputs: [x], ctx: ctx, saved: 0) { g in [g.map { $0 * s }] }
    }

    public static func neg(_ x: Variable, _ ctx: ComputeContext) -> Variable { mulScalar(x, -1, ctx) }

    public static func exp(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let y = x.value.map { Foundation.exp($0) }
        return record("exp", y, inputs: [x], ctx: ctx, saved: y.count) { g in [g.zipMap(y) { $0 * $1 }] }
    }

    /// Natural log (log of a non-positive value gives −Inf/NaN, caught by backward's finite check).
    public static func log(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let v = x.value
        return record("log", v.map { Foundation.log($0) }, inputs: [x], ctx: ctx, saved: v.count) { g in [g.zipMap(v) { $0 / $1 }] }
    }

    public static func sqrt(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let y = x.value.map { $0.squareRoot() }
        return record("sqrt", y, inputs: [x], ctx: ctx, saved: y.count) { g in [g.zipMap(y) { 0.5 * $0 / $1 }] }
    }

    /// x^p for a constant exponent.
    public static func pow(_ x: Variable, _ p: Float, _ ctx: ComputeContext) -> Variable {
        let v = x.value
        let y = p == 2 ? v.map { $0 * $0 } : v.map { Foundation.pow($0, p) }
        return record("pow", y, inputs: [x], ctx: ctx, saved: v.count) { g in
            [p == 2 ? g.zipMap(v) { 2 * $0 * $1 } : g.zipMap(v) { $0 * p * Foundation.pow($1, p - 1) }]
        }
    }

    public static func square(_ x: Variable, _ ctx: ComputeContext) -> Variable { pow(x, 2, ctx) }

    /// min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi (PyTorch's convention at the bounds).
    public static func clamp(_ x: Variable, min lo: Float = -.infinity, max hi: Float = .infinity, _ ctx: ComputeContext) throws -> Variable {
        guard !(lo > hi) else { throw TensorError.invalidArgument(op: "clamp", reason: "min \(lo) > max \(hi)") }
        let v = x.value
        return record("clamp", v.map { Swift.min(Swift.max($0, lo), hi) }, inputs: [x], ctx: ctx, saved: v.count) { g in
            [g.zipMap(v) { ($1 >= lo && $1 <= hi) ? $0 : 0 }]
        }
    }

    public static func abs(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let v = x.value
        return record("abs", v.map { Swift.abs($0) }, inputs: [x], ctx: ctx, saved: v.count) { g in
            [g.zipMap(v) { $1 > 0 ? $0 : ($1 < 0 ? -$0 : 0) }]
        }
    }

    // MARK: activations

    /// max(x, 0); gradient 0 at x = 0 (PyTorch). NaN passes through.
    public static func relu(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let y = x.value.map { $0 < 0 ? 0 : $0 }
        return record("relu", y, inputs: [x], ctx: ctx, saved: y.count) { g in [g.zipMap(y) { $1 > 0 ? $0 : 0 }] }
    }

    public static func sigmoid(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let y = x.value.map { v -> Float in v >= 0 ? 1 / (1 + Foundation.exp(-v)) : Foundation.exp(v) / (1 + Foundation.exp(v)) }
        return record("sigmoid", y, inputs: [x], ctx: ctx, saved: y.count) { g in [g.zipMap(y) { $0 * $1 * (1 - $1) }] }
    }

    // MARK: reductions

    /// Σ of all elements → shape [] (a scalar loss).
    public static func sum(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let shape = x.shape
        return record("sum", Tensor(scalar: x.value.sum()), inputs: [x], ctx: ctx, saved: 0) { g in [Tensor(shape: shape, repeating: g[flat: 0])] }
    }

    public static func mean(_ x: Variable, _ ctx: ComputeContext) -> Variable {
        let shape = x.shape, n = Float(x.value.count)
        return record("mean", Tensor(scalar: x.value.mean()), inputs: [x], ctx: ctx, saved: 0) { g in [Tensor(shape: shape, repeating: g[flat: 0] / n)] }
    }

    public static func sum(_ x: Variable, axes: [Int], keepDims: Bool = false, _ ctx: ComputeContext) throws -> Variable {
        let shape = x.shape
        let ax = Tensor.normalizedAxes(axes, rank: shape.count)
        let kept = try x.value.keptShape(ax, op: "sum")
        let y = try x.value.sum(axes: ax, keepDims: keepDims)
        return record("sum", y, inputs: [x], ctx: ctx, saved: 0) { g in
            [try Tensor.binary(Tensor(shape: shape), g.reshaped(kept), .add)]
        }
    }

    public static func mean(_ x: Variable, axes: [Int], keepDims: Bool = false, _ ctx: ComputeContext) throws -> Variable {
        let ax = Tensor.normalizedAxes(axes, rank: x.shape.count)
        let n = ax.reduce(1) { $0 * (($1 < x.shape.count) ? x.shape[$1] : 1) }
        return mulScalar(try sum(x, axes: ax, keepDims: keepDims, ctx), 1 / Float(Swift.max(1, n)), ctx)
    }

    /// Maximum over `axes`; the gradient goes to the first maximum.
    public static func max(_ x: Variable, axes: [Int], keepDims: Bool = false, _ ctx: ComputeContext) throws -> Variable {
        let shape = x.shape
        let (y, idx) = try x.value.max(axes: axes, keepDims: keepDims)
        return record("max", y, inputs: [x], ctx: ctx, saved: idx.count) { g in
            var d = Tensor(shape: shape)
            for (i, j) in idx.enumerated() { d[flat: j] += g[flat: i] }
            return [d]
        }
    }

    // MARK: shapes

    public static func reshape(_ x: Variable, _ shape: [Int], _ ctx: ComputeContext) throws -> Variable {
        let old = x.shape
        return record("reshape", try x.value.reshaped(shape), inputs: [x], ctx: ctx, saved: 0) { g in [try g.reshaped(old)] }
    }

    public static func permute(_ x: Variable, _ axes: [Int], _ ctx: ComputeContext) throws -> Variable {
        var inverse = [Int](repeating: 0, count: axes.count)
        let y = try x.value.permuted(axes)
        for (i, a) in axes.enumerated() { inverse[a] = i }
        return record("permute", y, inputs: [x], ctx: ctx, saved: 0) { g in [try g.permuted(inverse)] }
    }

    public static func batchSlice(_ x: Variable, _ range: Range<Int>, _ ctx: ComputeContext) throws -> Variable {
        let shape = x.shape
        let y = try x.value.batchSlice(range)
        let per = shape.dropFirst().reduce(1, *)
        return record("batchSlice", y, inputs: [x], ctx: ctx, saved: 0) { g in
            var d = Tensor(shape: shape)
            d.withUnsafeMutableBufferPointer { dp in g.withUnsafeBufferPointer { gp in
                (dp.baseAddress! + range.lowerBound * per).update(from: gp.baseAddress!, count: gp.count)
            } }
            return [d]
        }
    }

    public static func concatBatch(_ xs: [Variable], _ ctx: ComputeContext) throws -> Variable {
        let y = try Tensor.concatBatch(xs.map(\.value))
        let sizes = xs.map { $0.shape[0] }
        return record("concatBatch", y, inputs: xs, ctx: ctx, saved: 0) { g in
            var start = 0
            return try sizes.map { n in defer { start += n }; return try g.batchSlice(start..<(start + n)) }
        }
    }

    // MARK: layers

    /// Conv3d (NCDHW): input [N, Cin, D, H, W], weight [Cout, Cin, kD, kH, kW], bias [Cout] or nil.
    public static func conv3d(_ x: Variable, weight: Variable, bias: Variable?, stride: Size3 = 1, padding: Size3 = 0,
                              _ ctx: ComputeContext) throws -> Variable {
        let g = try Conv3dGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding)
        let (xv, wv) = (x.value, weight.value)
        let y = try Conv3dKernel.forward(xv, weight: wv, bias: bias?.value, geometry: g, threads: ctx.threads, precision: ctx.precision)
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        let (threads, precision) = (ctx.threads, ctx.precision)
        return record("conv3d \(g.inChannels)→\(g.outChannels) k\(g.kernel) s\(g.stride) p\(g.padding) on \(x.shape)", y,
                      inputs: inputs, ctx: ctx, saved: xv.count) { dy in
            let dx = x.requiresGrad ? try Conv3dKernel.backwardData(dy, weight: wv, geometry: g, threads: threads, precision: precision) : nil
            var dw: Tensor? = nil, db: Tensor? = nil
            if weight.requiresGrad || (bias?.requiresGrad ?? false) {
                let r = try Conv3dKernel.backwardWeight(xv, outputGradient: dy, geometry: g, threads: threads, precision: precision)
                dw = r.weight; db = r.bias
            }
            return bias == nil ? [dx, dw] : [dx, dw, db]
        }
    }

    /// ConvTranspose3d: input [N, Cin, D, H, W], weight [Cin, Cout, kD, kH, kW] (PyTorch's layout).
    public static func convTranspose3d(_ x: Variable, weight: Variable, bias: Variable?, stride: Size3 = 1, padding: Size3 = 0,
                                       outputPadding: Size3 = 0, _ ctx: ComputeContext) throws -> Variable {
        let g = try ConvTranspose3dGeometry(input: x.shape, weight: weight.shape, stride: stride, padding: padding, outputPadding: outputPadding)
        let (xv, wv) = (x.value, weight.value)
        let y = try ConvTranspose3dKernel.forward(xv, weight: wv, bias: bias?.value, geometry: g, threads: ctx.threads, precision: ctx.precision)
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        let (threads, precision) = (ctx.threads, ctx.precision)
        return record("convTranspose3d \(g.inChannels)→\(g.outChannels) k\(g.kernel) s\(g.stride) p\(g.padding) on \(x.shape)", y,
                      inputs: inputs, ctx: ctx, saved: xv.count) { dy in
            let dx = x.requiresGrad ? try ConvTranspose3dKernel.backwardData(dy, weight: wv, geometry: g, threads: threads, precision: precision) : nil
            var dw: Tensor? = nil, db: Tensor? = nil
            if weight.requiresGrad || (bias?.requiresGrad ?? false) {
                let r = try ConvTranspose3dKernel.backwardWeight(xv, outputGradient: dy, geometry: g, threads: threads, precision: precision)
                dw = r.weight; db = r.bias
            }
            return bias == nil ? [dx, dw] : [dx, dw, db]
        }
    }

    /// BatchNorm over [N, C, …] with PyTorch's semantics. Training (`ctx.training`): batch statistics,
    /// and `state` updated (momentum, unbiased variance, num_batches_tracked) unless the block is being
    /// recomputed for checkpointing. Evaluation: running statistics.
    public static func batchNorm(_ x: Variable, weight: Variable, bias: Variable, state: BatchNormState,
                                 momentum: Float = 0.1, eps: Float = 1e-5, _ ctx: ComputeContext) throws -> Variable {
        let xv = x.value, gv = weight.value
        if ctx.training {
            let (y, stats) = try BatchNormKernel.forwardTraining(xv, gamma: gv, beta: bias.value, eps: eps, threads: ctx.threads)
            if !ctx.isRecomputing { BatchNormKernel.updateRunningStatistics(state, stats, momentum: momentum) }
            let threads = ctx.threads
            return record("batchNorm(\(gv.count)) on \(x.shape)", y, inputs: [x, weight, bias], ctx: ctx, saved: xv.count) { dy in
                let r = try BatchNormKernel.backwardTraining(dy, input: xv, gamma: gv, statistics: stats, threads: threads)
                return [r.input, r.gamma, r.beta]
            }
        }
        let y = try BatchNormKernel.forwardEvaluation(xv, gamma: gv, beta: bias.value, state: state, eps: eps)
        let frozen = BatchNormState(channels: state.channels)
        frozen.runningMean = state.runningMean; frozen.runningVar = state.runningVar
        return record("batchNorm(\(gv.count)) eval on \(x.shape)", y, inputs: [x, weight, bias], ctx: ctx, saved: xv.count) { dy in
            let r = try BatchNormKernel.backwardEvaluation(dy, input: xv, gamma: gv, state: frozen, eps: eps)
            return [r.input, r.gamma, r.beta]
        }
    }

    /// ReLU(BatchNorm(x)) as one operation (the model's BN → ReLU pairs): in training one fused
    /// kernel pass writes the activated output and the backward masks the gradient inside the
    /// BatchNorm backward, so neither the BN output nor a ReLU mask is kept — only x, as BatchNorm
    /// alone keeps. Same values and gradients as `relu(batchNorm(x))`. Evaluation composes the two.
    public static func batchNormReLU(_ x: Variable, weight: Variable, bias: Variable, state: BatchNormState,
                                     momentum: Float = 0.1, eps: Float = 1e-5, _ ctx: ComputeContext) throws -> Variable {
        guard ctx.training else { return relu(try batchNorm(x, weight: weight, bias: bias, state: state, momentum: momentum, eps: eps, ctx), ctx) }
        let xv = x.value, gv = weight.value
        let (y, stats) = try BatchNormKernel.forwardTraining(xv, gamma: gv, beta: bias.value, eps: eps, threads: ctx.threads, relu: true)
        if !ctx.isRecomputing { BatchNormKernel.updateRunningStatistics(state, stats, momentum: momentum) }
        let threads = ctx.threads
        return record("batchNormReLU(\(gv.count)) on \(x.shape)", y, inputs: [x, weight, bias], ctx: ctx, saved: xv.count) { dy in
            let r = try BatchNormKernel.backwardTraining(dy, input: xv, gamma: gv, statistics: stats, threads: threads, relu: true)
            return [r.input, r.gamma, r.beta]
        }
    }

    public static func maxPool3d(_ x: Variable, kernel: Size3, stride: Size3, padding: Size3 = 0, _ ctx: ComputeContext) throws -> Variable {
        let shape = x.shape
        let (y, idx) = try MaxPool3dKernel.forward(x.value, kernel: kernel, stride: stride, padding: padding, threads: ctx.threads)
        return record("maxPool3d k\(kernel) s\(stride) p\(padding) on \(shape)", y, inputs: [x], ctx: ctx, saved: idx.count) { g in
            [try MaxPool3dKernel.backward(g, indices: idx, inputShape: shape)]
        }
    }

    /// AdaptiveAvgPool3d(1): [N, C, D, H, W] → [N, C, 1, 1, 1].
    public static func globalAvgPool(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        let shape = x.shape
        return record("adaptiveAvgPool3d(1) on \(shape)", try GlobalAvgPoolKernel.forward(x.value), inputs: [x], ctx: ctx, saved: 0) { g in
            [GlobalAvgPoolKernel.backward(g, inputShape: shape)]
        }
    }

    /// y = x·Wᵀ + b, x [N, in], W [out, in].
    public static func linear(_ x: Variable, weight: Variable, bias: Variable?, _ ctx: ComputeContext) throws -> Variable {
        let (xv, wv) = (x.value, weight.value)
        let threads = ctx.threads
        let y = try LinearKernel.forward(xv, weight: wv, bias: bias?.value, threads: threads)
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        return record("linear \(wv.shape) on \(x.shape)", y, inputs: inputs, ctx: ctx, saved: xv.count) { g in
            let r = try LinearKernel.backward(g, input: xv, weight: wv, threads: threads)
            return bias == nil ? [r.input, r.weight] : [r.input, r.weight, r.bias]
        }
    }

    /// Element dropout with inverted scaling; identity in evaluation or when p = 0.
    public static func dropout(_ x: Variable, p: Float, key: RandomKey, _ ctx: ComputeContext) throws -> Variable {
        try DropoutKernel.checkP(p, op: "dropout")
        guard ctx.training && p > 0 else { return x }
        let m = try DropoutKernel.elementMask(shape: x.shape, p: p, key: key)
        return record("dropout(\(p)) on \(x.shape)", x.value.zipMap(m) { $0 * $1 }, inputs: [x], ctx: ctx, saved: m.count) { g in [g.zipMap(m) { $0 * $1 }] }
    }

    /// Dropout3d: zeroes whole feature maps (one draw per sample and channel), inverted scaling.
    public static func dropout3d(_ x: Variable, p: Float, key: RandomKey, _ ctx: ComputeContext) throws -> Variable {
        try DropoutKernel.checkP(p, op: "dropout3d")
        guard ctx.training && p > 0 else { return x }
        let m = try DropoutKernel.channelMask(shape: x.shape, p: p, key: key)
        let y = try Tensor.binary(x.value, m, .mul)
        return record("dropout3d(\(p)) on \(x.shape)", y, inputs: [x], ctx: ctx, saved: m.count) { g in [try Tensor.binary(g, m, .mul)] }
    }

    /// Trilinear resize to `size` (align_corners=False); identity when the size already matches.
    public static func trilinearResize(_ x: Variable, size: Size3, _ ctx: ComputeContext) throws -> Variable {
        let shape = x.shape
        let y = try TrilinearResizeKernel.forward(x.value, size: size)
        if y.shape == shape { return x }
        return record("trilinearResize \(shape) → \(size)", y, inputs: [x], ctx: ctx, saved: 0) { g in
            [try TrilinearResizeKernel.backward(g, inputShape: shape)]
        }
    }

    /// Separable valid filtering of every channel with `window` along D, H and W (SSIM's Gaussian).
    public static func gaussianFilter3d(_ x: Variable, window: [Float], _ ctx: ComputeContext) throws -> Variable {
        let shape = x.shape
        return record("gaussianFilter3d(\(window.count)) on \(shape)", try GaussianFilterKernel.forward(x.value, window: window),
                      inputs: [x], ctx: ctx, saved: 0) { g in
            [try GaussianFilterKernel.backward(g, inputShape: shape, window: window)]
        }
    }

    // MARK: checkpointing

    /// Runs `body` without keeping its activations; in backward, recomputes it on a private tape
    /// (with the same context, so dropout keys and thread counts match) and backpropagates through
    /// it. Parameters the body uses receive their gradients directly. BatchNorm running statistics
    /// are updated once (by the first forward).
    public static func checkpoint(_ inputs: [Variable], _ ctx: ComputeContext,
                                  _ body: @escaping ([Variable], ComputeContext) throws -> Variable) throws -> Variable {
        guard let tape = ctx.tape else { return try body(inputs, ctx) }
        var quiet = ctx
        quiet.tape = nil
        let y = try body(inputs, quiet).value
        let values = inputs.map(\.value)
        let out = Variable(result: y, requiresGrad: true)
        tape.record("checkpoint on \(inputs.map(\.shape))", inputs: inputs, output: out, saved: values.reduce(0) { $0 + $1.count }) { g in
            let inner = Tape()
            var again = ctx
            again.tape = inner
            again.isRecomputing = true
            let leaves = zip(values, inputs).map { Variable($0.0, requiresGrad: $0.1.requiresGrad) }
            let z = try body(leaves, again)
            tape.notePeak(extra: inner.peakSavedFloats)
            if z.requiresGrad { try inner.backward(z, seed: g) }
            return leaves.map(\.grad)
        }
        return out
    }
}
