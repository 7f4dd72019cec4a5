import Foundation
import NN
import Spec
import Store

/// The train step's parameters (`{model, loss, optimizer, schedule, training, seed}`, made by the
/// planner from Spec's typed sections) and their mapping onto NN's types, which know nothing of Spec.
struct TrainParams: Codable {
    var model: ModelSpec
    var loss: Spec.LossSpec
    var optimizer: OptimizerSpec
    var schedule: ScheduleSpec
    var training: TrainingSpec
    var seed: Int

    static func decode(_ params: JSONValue) throws -> TrainParams {
        try DataParams.decode(TrainParams.self, params, step: .train)
    }

    /// The validation metrics an epoch computes (`val.rmse`, `val.rmse.mua`, … `val.psnr`, `val.ssim`…).
    static let monitorable: Set<String> = Set(Metrics.all.filter { !$0.hasPrefix("mae") }.map { "val." + $0 })

    /// Everything that cannot run is refused here, before any work, naming the field.
    func validate() throws {
        func bad(_ field: String, _ why: String) -> StepError { StepError("train: \(field): \(why)") }
        guard training.epochs >= 1 else { throw bad("training.epochs", "must be ≥ 1 (got \(training.epochs))") }
        guard training.batchSize >= 1 else { throw bad("training.batch_size", "must be ≥ 1 (got \(training.batchSize))") }
        guard training.accumulate >= 1 else { throw bad("training.accumulate", "must be ≥ 1 (got \(training.accumulate))") }
        if training.earlyStopping.enabled {
            guard Self.monitorable.contains(training.earlyStopping.metric) else {
                throw bad("training.early_stopping.metric", "'\(training.earlyStopping.metric)' is not computed per epoch (one of \(Self.monitorable.sorted()))")
            }
            guard training.earlyStopping.patience >= 0 else { throw bad("training.early_stopping.patience", "must be ≥ 0") }
        }
        if case .plateau(let p) = schedule, !Self.monitorable.contains(p.metric) {
            throw bad("schedule.metric", "'\(p.metric)' is not computed per epoch (one of \(Self.monitorable.sorted()))")
        }
        guard loss.ssim.window == SSIMWindow.size, loss.ssim.sigma == SSIMWindow.sigma else {
            throw bad("loss.ssim", "the engine's SSIM uses window \(SSIMWindow.size), sigma \(SSIMWindow.sigma) (got \(loss.ssim.window), \(loss.ssim.sigma))")
        }
    }

    func stage1Config(inputSize: Int) -> Stage1Config {
        Stage1Config(baseChannels: model.baseChannels, latentDim: model.latentDim, residualBlocks: model.residualBlocks,
                     attentionLayers: model.attention.layers.enumerated().filter(\.element).map { $0.offset + 1 },
                     dropoutKind: model.dropout.kind == .spatial ? .spatial : .element, dropoutRate: model.dropout.rate,
                     inputSize: inputSize, channels: 2, gradientCheckpointing: training.gradientCheckpointing)
    }

    func lossSpec() -> NN.LossSpec {
        var terms: [NN.LossSpec.Term: Double] = [:]
        if loss.terms.rmse > 0 { terms[.rmse] = loss.terms.rmse }
        if loss.terms.ssim > 0 { terms[.ssim] = loss.terms.ssim }
        let w = [loss.channelWeights.mua, loss.channelWeights.musp]
        return NN.LossSpec(terms: terms, channelWeights: w == [1, 1] ? nil : w, ssimDataRange: loss.ssim.dataRange)
    }

    func makeOptimizer() throws -> Optimizer {
        switch optimizer.kind {
        case .adamw, .adam:
            guard !optimizer.nesterov else { throw StepError("train: optimizer.nesterov applies to kind sgd only (got \(optimizer.kind.rawValue))") }
            guard optimizer.betas.count == 2 else { throw StepError("train: optimizer.betas must have 2 values (got \(optimizer.betas))") }
            // Adam and AdamW differ only in how weight decay enters; Adam without decay is AdamW without decay.
            if optimizer.kind == .adam, weightDecay.value(epoch: 0) != 0 || weightDecay.value(epoch: training.epochs) != 0 {
                throw StepError("train: optimizer.kind adam with weight decay (coupled L2) is not implemented; use adamw or weight_decay 0")
            }
            return try AdamW(AdamWSettings(beta1: optimizer.betas[0], beta2: optimizer.betas[1], eps: optimizer.eps))
        case .sgd:
            do { return try SGD(SGDSettings(momentum: optimizer.momentum, nesterov: optimizer.nesterov)) } catch {
                throw StepError("train: optimizer: \(error)")
            }
        }
    }

    var weightDecay: WeightDecaySchedule {
        switch optimizer.weightDecay {
        case .constant(let wd): return .constant(wd)
        case .scheduled(let from, let to, let shape):
            return .ramp(from: from, to: to, shape: shape == .linear ? .linear : .cosine, epochs: training.epochs)
        }
    }

    /// The monitored validation metric of the plateau schedule (nil for other schedules).
    var plateauMetric: String? {
        if case .plateau(let p) = schedule { return p.metric }
        return nil
    }

    func lrSchedule(stepsPerEpoch: Int) throws -> LRScheduler {
        let total = stepsPerEpoch * training.epochs
        let schedule: LRSchedule
        switch self.schedule {
        case .constant:
            schedule = .constant
        case .plateau(let p):
            schedule = .plateau(PlateauSettings(mode: Metrics.higherIsBetter(p.metric) ? .max : .min, patience: p.patience,
                                                factor: p.factor, minLR: p.minLR, threshold: p.threshold, cooldown: p.cooldown))
        case .phases(let phases):
            schedule = .phases(phases.map { NN.LRPhase(epochs: $0.epochs, lr: $0.lr) })
        case .onecycle(let o):
            guard o.anneal == .cosine else { throw StepError("train: schedule.anneal linear is not implemented for one-cycle (cosine only)") }
            schedule = .oneCycle(OneCycleSettings(maxLR: o.maxLR, pctStart: o.pctStart, divFactor: o.divFactor, finalDivFactor: o.finalDivFactor))
        case .cosine(let c):
            // NN's schedule warms up from 0 and decays to 0 (transformers' cosine-with-warmup).
            guard c.warmupStartFactor == 0, c.minLR == 0 else {
                throw StepError("train: schedule cosine with warmup_start_factor \(c.warmupStartFactor) / min_lr \(c.minLR) is not implemented; the engine's cosine schedule warms up from 0 and decays to 0 (set both to 0)")
            }
            schedule = .cosineWarmup(CosineWarmupSettings(warmupSteps: c.warmupEpochs * stepsPerEpoch))
        }
        do { return try LRScheduler(schedule, baseLR: optimizer.lr, totalSteps: total) } catch {
            throw StepError("train: schedule: \(error)")
        }
    }
}
