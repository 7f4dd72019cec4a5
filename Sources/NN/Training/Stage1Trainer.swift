// One optimisation step of the Stage 1 model, with everything the experiment can switch on:
// loss terms and channel weights, gradient accumulation over micro-batches, clipping by global
// norm, LR schedule (incl. one-cycle momentum), weight-decay schedule, EMA of weights.
// A NaN/Inf loss or gradient throws before any weight changes (gradients are then cleared).
import Foundation
import Tensor

public enum TrainingError: Error, CustomStringConvertible {
    case nonFinite(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .nonFinite(let what): return "training stopped: \(what) is NaN or Inf"
        case .invalid(let why): return "training: \(why)"
        }
    }
}

public struct StepResult: Sendable {
    public var loss: Double
    public var parts: [String: Double]
    public var gradientNorm: Double
    public var lr: Double
}

public final class Stage1Trainer {
    public let model: Stage1Model
    public let loss: LossSpec
    public let optimizer: Optimizer
    public var scheduler: LRScheduler
    public let weightDecay: WeightDecaySchedule
    public let clipNorm: Double?
    public let ema: WeightEMA?
    public let threads: Int
    /// Convolution arithmetic of the training forward and backward passes. With `.bf16` the conv
    /// GEMMs multiply bf16-rounded operands with fp32 accumulation; weights, gradients, BatchNorm and
    /// the optimizer stay fp32 (mixed precision with fp32 master weights).
    public let precision: Precision

    public init(model: Stage1Model, loss: LossSpec, optimizer: Optimizer, scheduler: LRScheduler,
                weightDecay: WeightDecaySchedule = .constant(0), clipNorm: Double? = nil, ema: WeightEMA? = nil, threads: Int = 1,
                precision: Precision = .fp32) throws {
        try loss.validate()
        try weightDecay.validate()
        if let c = clipNorm, !(c > 0) { throw TrainingError.invalid("clip norm must be > 0 (got \(c))") }
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.weightDecay = weightDecay
        self.clipNorm = clipNorm
        self.ema = ema
        self.threads = threads
        self.precision = precision
    }

    /// One optimizer step over `microBatches` (gradient accumulation: each micro-batch's loss is
    /// scaled by 1/k). `dropoutKey` should be unique per step (e.g. seed, global step).
    public func step(_ microBatches: [(input: Tensor, target: Tensor)], epoch: Int, dropoutKey: RandomKey) throws -> StepResult {
        guard !microBatches.isEmpty else { throw TrainingError.invalid("no batch to train on") }
        model.zeroGrad()
        var total = 0.0
        var parts = [String: Double]()
        let scale = 1 / Float(microBatches.count)
        do {
            for (i, mb) in microBatches.enumerated() {
                let tape = Tape()
                let ctx = ComputeContext.training(tape, threads: threads, precision: precision)
                let out = try model(Variable(mb.input), ctx, dropoutKey: dropoutKey.derived(UInt64(i)))
                let (l, p) = try loss(out, Variable(mb.target), ctx)
                let value = Double(l.value[flat: 0])
                guard value.isFinite else { throw TrainingError.nonFinite("loss") }
                total += value / Double(microBatches.count)
                for (k, v) in p { parts[k, default: 0] += v / Double(microBatches.count) }
                try tape.backward(F.mulScalar(l, scale, ctx))
            }
        } catch let e as LossError {
            model.zeroGrad()
            if case .nonFinite(let term) = e { throw TrainingError.nonFinite(term) }
            throw e
        } catch {
            model.zeroGrad()
            throw error
        }

        let params = model.parameters
        // copy out (the optimizer works on flat buffers), step, copy back
        let buffers = params.map { p -> (UnsafeMutableBufferPointer<Float>, UnsafeMutableBufferPointer<Float>) in
            let v = UnsafeMutableBufferPointer<Float>.allocate(capacity: p.variable.value.count)
            _ = v.initialize(from: p.variable.value.storage)
            let g = UnsafeMutableBufferPointer<Float>.allocate(capacity: p.variable.value.count)
            if let grad = p.variable.grad { _ = g.initialize(from: grad.storage) } else { g.initialize(repeating: 0) }
            return (v, g)
        }
        defer { for (v, g) in buffers { v.deallocate(); g.deallocate() } }
        let norm: Double
        do {
            if let c = clipNorm {
                norm = try GradientClipping.clip(zip(params, buffers).map { ($0.0.name, $0.1.1) }, maxNorm: c)
            } else {
                norm = GradientClipping.globalNorm(buffers.map { UnsafeBufferPointer($0.1) })
                guard norm.isFinite else { throw TrainingError.nonFinite("gradient norm") }
            }
        } catch {
            model.zeroGrad()
            throw error
        }
        let lr = scheduler.lr
        let hyper = StepHyperparameters(lr: lr, weightDecay: weightDecay.value(epoch: epoch), momentum: scheduler.momentum)
        try optimizer.step(zip(params, buffers).map { ParameterSlot(name: $0.0.name, value: $0.1.0, gradient: UnsafeBufferPointer($0.1.1)) }, hyper)
        for (p, b) in zip(params, buffers) {
            p.variable.value = try Tensor(shape: p.variable.shape, storage: Array(b.0))
            ema?.update(name: p.name, value: UnsafeBufferPointer(b.0))
        }
        try scheduler.afterOptimizerStep()
        return StepResult(loss: total, parts: parts, gradientNorm: norm, lr: lr)
    }

    /// Call at the end of each epoch with the monitored metric (validation RMSE).
    public func endEpoch(metric: Double?) throws {
        try scheduler.afterEpoch(metric: metric)
    }
}
