import Foundation
import NN
import Spec
import Store
import Tensor

/// One epoch of the training history (`history.json`, the manifest, learning curves).
struct EpochHistory: Codable, Equatable {
    var epoch: Int
    var trainLoss: Double
    /// RMSE of the training batches' predictions (channel-weighted when the loss weights channels).
    var trainRMSE: Double?
    var valRMSE: Double
    /// Validation metrics of the epoch by name (`val.rmse`, `val.rmse.mua`, `val.psnr`, …).
    var valMetrics: [String: Double]
    var lr: Double
    var weightDecay: Double
    var seconds: Double
    var samplesPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case epoch, trainLoss = "train_loss", trainRMSE = "train_rmse", valRMSE = "val_rmse", valMetrics = "val_metrics"
        case lr, weightDecay = "weight_decay", seconds, samplesPerSecond = "samples_per_second"
    }
}

/// What the epoch checkpoint carries besides model, optimizer and LR schedule. The data order and
/// augmentation of epoch e are functions of (seed, e), so `epochsDone` is the whole RNG position.
struct TrainProgressState: Codable {
    var epochsDone: Int
    var history: [EpochHistory]
    var bestEpoch: Int?
    var bestValue: Double?
    /// Epochs since the early-stopping metric last improved by more than min_delta.
    var epochsWithoutImprovement: Int
    var stoppedEarly: Bool
}

/// `train`: the Stage 1 autoencoder of one variant and seed on the split's train part, validated
/// every epoch; checkpoints every epoch in the scratch directory and resumes from there.
/// Writes `best.safetensors`, `last.safetensors` (PyTorch state_dict names), `history.json`.
public struct TrainStep: StepImplementation {
    public static let kind = StepKind.train
    public static let codeVersion = 1
    public static let bestName = "best.safetensors"
    public static let lastName = "last.safetensors"
    public static let historyName = "history.json"
    public static let paramsName = "train-params.json"
    static let checkpointDirectory = "checkpoint"
    public init() {}

    public func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        let params = try TrainParams.decode(request.params)
        try params.validate()
        let trainIDs = try VolumeSet.splitIDs(context, part: "train", step: .train).ids
        let valIDs = try VolumeSet.splitIDs(context, part: "val", step: .train).ids
        context.progress(StepProgress(done: 0, total: trainIDs.count + valIDs.count, message: "loading phantoms"))
        let train = try VolumeSet.load(context, ids: trainIDs, part: "train", step: .train)
        let val = try VolumeSet.load(context, ids: valIDs, part: "val", step: .train)
        guard train.size == val.size else { throw StepError("train: train volumes are \(train.size)³ but val volumes \(val.size)³") }

        // Per-channel statistics of the train part only (val and test never leak into them).
        let standardization = try params.training.standardizeTargets ? TargetStandardization.fit(train.volumes, channels: 2) : nil
        let config = params.stage1Config(inputSize: train.size)
        let seed = UInt64(bitPattern: Int64(params.seed))
        let model: Stage1Model
        do { try config.validate(); model = try Stage1Model(config, seed: seed) } catch {
            throw StepError("train: model: \(error)")
        }
        let t = params.training
        let samplesPerStep = t.batchSize * t.accumulate
        let stepsPerEpoch = Self.stepCount(samples: train.count, perStep: samplesPerStep)
        let optimizer = try params.makeOptimizer()
        let ema = try t.ema.map { try WeightEMA(decay: $0) }
        let trainer: Stage1Trainer
        do {
            trainer = try Stage1Trainer(model: model, loss: params.lossSpec(), optimizer: optimizer,
                                        scheduler: try params.lrSchedule(stepsPerEpoch: stepsPerEpoch), weightDecay: params.weightDecay,
                                        clipNorm: params.optimizer.gradClip, ema: ema, threads: max(1, context.threads),
                                        precision: t.precision == .bf16 ? .bf16 : .fp32)
        } catch let e as StepError { throw e } catch { throw StepError("train: \(error)") }

        // Resume from the last epoch checkpoint, if a previous attempt left one.
        let fm = FileManager.default
        let checkpointURL = context.scratchDirectory.appendingPathComponent(Self.checkpointDirectory)
        let bestScratch = context.scratchDirectory.appendingPathComponent(Self.bestName)
        var state = TrainProgressState(epochsDone: 0, history: [], bestEpoch: nil, bestValue: nil, epochsWithoutImprovement: 0, stoppedEarly: false)
        if fm.fileExists(atPath: checkpointURL.path) {
            do {
                let saved = try Checkpoint.load(from: checkpointURL, model: model, optimizer: optimizer, ema: ema)
                trainer.scheduler = saved.scheduler
                state = try JSONDecoder().decode(TrainProgressState.self, from: saved.extra)
            } catch {
                throw StepError("train: cannot resume from \(checkpointURL.path): \(error) (delete it to start over)")
            }
            context.progress(StepProgress(done: state.epochsDone, total: t.epochs, message: "resuming after epoch \(state.epochsDone)"))
        }

        let augmenter = Augmenter(flip: t.augment.contains(.flip), rot90: t.augment.contains(.rot90), size: train.size)
        let monitored = t.earlyStopping.enabled ? t.earlyStopping.metric : "val.rmse"
        let needSSIM = [monitored, params.plateauMetric ?? ""].contains { $0.hasPrefix("val.ssim") }
        let totalSteps = stepsPerEpoch * t.epochs
        let runKey = RandomKey(seed: seed)
        // ETA from this attempt's own pace (validation included), so a resumed run estimates correctly.
        let attemptStarted = Date()
        let stepsAtStart = state.epochsDone * stepsPerEpoch

        while state.epochsDone < t.epochs && !state.stoppedEarly {
            let epoch = state.epochsDone
            let started = Date()
            let order = shuffledIndices(train.count, key: runKey.derived(0x0D47A).derived(UInt64(epoch)))
            let augmentKey = runKey.derived(0xA06).derived(UInt64(epoch))
            var lossSum = 0.0, rmseSum = 0.0, rmseCount = 0, samples = 0
            let lr = trainer.scheduler.lr
            for step in 0..<stepsPerEpoch {
                if context.isCancelled() {
                    throw StepError("train: cancelled in epoch \(epoch + 1); the checkpoint after epoch \(state.epochsDone) is kept and the next run resumes from it")
                }
                let first = step * samplesPerStep
                let last = step == stepsPerEpoch - 1 ? order.count : min(first + samplesPerStep, order.count)
                let stepSamples = order[first..<last]
                var microBatches: [(input: Tensor, target: Tensor)] = []
                var start = stepSamples.startIndex
                while start < stepSamples.endIndex {
                    var stop = min(start + t.batchSize, stepSamples.endIndex)
                    // BatchNorm needs two samples: a lone trailing sample joins the batch before it.
                    if stepSamples.endIndex - stop == 1 && stop > start + 1 { stop = stepSamples.endIndex }
                    let slice = stepSamples[start..<stop]
                    let x = try train.batch(slice) { i, v in
                        let augmented = augmenter.apply(v, key: augmentKey.derived(UInt64(i)))
                        return standardization?.standardize(augmented) ?? augmented
                    }
                    microBatches.append((x, x))
                    start = slice.endIndex
                }
                let result: NN.StepResult
                do {
                    result = try trainer.step(microBatches, epoch: epoch, dropoutKey: runKey.derived(0xD20).derived(UInt64(epoch * stepsPerEpoch + step)))
                } catch let e as TrainingError {
                    if case .nonFinite = e {
                        throw StepError("train: \(e) at epoch \(epoch + 1), batch \(step + 1) (lr \(trainer.scheduler.lr)); stopped — "
                                        + (state.epochsDone > 0 ? "the last good checkpoint (after epoch \(state.epochsDone)) is kept in \(checkpointURL.path)"
                                                                : "no epoch had completed, so there is no checkpoint"))
                    }
                    throw StepError("train: \(e)")
                }
                lossSum += result.loss * Double(stepSamples.count)
                if let r = result.parts["rmse"] { rmseSum += r * Double(stepSamples.count); rmseCount += stepSamples.count }
                samples += stepSamples.count
                let elapsed = Date().timeIntervalSince(started)
                let done = epoch * stepsPerEpoch + step + 1
                let pace = Date().timeIntervalSince(attemptStarted) / Double(max(1, done - stepsAtStart))
                context.progress(StepProgress(done: done, total: totalSteps,
                                              message: String(format: "epoch %d/%d batch %d/%d loss %.5f %.1f samples/s ETA ",
                                                              epoch + 1, t.epochs, step + 1, stepsPerEpoch, result.loss, Double(samples) / max(elapsed, 1e-9))
                                                  + Self.duration(pace * Double(totalSteps - done))))
            }
            let trainSeconds = Date().timeIntervalSince(started)

            let metrics = try Self.validate(TrainedModel(model: model, standardization: standardization), on: val, batchSize: t.batchSize,
                                            ssim: needSSIM, threads: max(1, context.threads))
            guard let valRMSE = metrics["val.rmse"], valRMSE.isFinite else {
                throw StepError("train: validation RMSE is NaN or Inf after epoch \(epoch + 1); stopped — the last good checkpoint (after epoch \(state.epochsDone)) is kept")
            }
            let wd = params.weightDecay.value(epoch: epoch)
            do { try trainer.endEpoch(metric: params.plateauMetric.flatMap { metrics[$0] }) } catch { throw StepError("train: schedule: \(error)") }

            // best checkpoint and early stopping on the monitored metric
            let value = metrics[monitored]!
            let higher = Metrics.higherIsBetter(monitored)
            let improved = state.bestValue.map { higher ? value > $0 + t.earlyStopping.minDelta : value < $0 - t.earlyStopping.minDelta } ?? true
            let better = state.bestValue.map { higher ? value > $0 : value < $0 } ?? true
            if better {
                state.bestValue = value; state.bestEpoch = epoch + 1
                try TrainedModel.checkpointFile(model, standardization: standardization).write(to: bestScratch)
            }
            state.epochsWithoutImprovement = improved ? 0 : state.epochsWithoutImprovement + 1
            if t.earlyStopping.enabled && state.epochsWithoutImprovement > t.earlyStopping.patience { state.stoppedEarly = true }

            state.history.append(EpochHistory(epoch: epoch + 1, trainLoss: lossSum / Double(max(1, samples)),
                                              trainRMSE: rmseCount > 0 ? rmseSum / Double(rmseCount) : nil, valRMSE: valRMSE,
                                              valMetrics: metrics, lr: lr, weightDecay: wd,
                                              seconds: Date().timeIntervalSince(started), samplesPerSecond: Double(samples) / max(trainSeconds, 1e-9)))
            state.epochsDone = epoch + 1
            let extra = try JSONEncoder().encode(state)
            try Checkpoint.save(to: checkpointURL, model: model, optimizer: optimizer,
                                state: TrainingCheckpointState(scheduler: trainer.scheduler, extra: extra), ema: ema)
            context.progress(StepProgress(done: state.epochsDone * stepsPerEpoch, total: totalSteps,
                                          message: String(format: "epoch %d/%d done: train loss %.5f, val rmse %.5f, lr %.3g, %.1f samples/s",
                                                          epoch + 1, t.epochs, state.history.last!.trainLoss, valRMSE, lr, state.history.last!.samplesPerSecond)))
        }

        // outputs
        let out = context.outputDirectory
        guard fm.fileExists(atPath: bestScratch.path) else { throw StepError("train: no best checkpoint in \(bestScratch.path)") }
        try fm.copyItem(at: bestScratch, to: out.appendingPathComponent(Self.bestName))
        try TrainedModel.checkpointFile(model, standardization: standardization).write(to: out.appendingPathComponent(Self.lastName))
        try Self.writeJSON(state.history, to: out.appendingPathComponent(Self.historyName))
        try DataParams.writeJSON(request.params, to: out.appendingPathComponent(Self.paramsName))
        let seconds = state.history.map(\.seconds).reduce(0, +)
        let meanRate = state.history.map(\.samplesPerSecond).reduce(0, +) / Double(max(1, state.history.count))
        var summary: [String: JSONValue] = [
            "best_\(monitored.replacingOccurrences(of: ".", with: "_"))": .number(state.bestValue ?? .nan),
        ]
        summary.merge([
            "best_epoch": .number(Double(state.bestEpoch ?? 0)),
            "best_val_rmse": .number(state.history.first { $0.epoch == state.bestEpoch }?.valRMSE ?? .nan),
            "epochs_run": .number(Double(state.epochsDone)),
            "stopped_early": .bool(state.stoppedEarly),
            "samples_per_second": .number(meanRate),
            "seconds": .number(seconds),
            "parameters": .number(Double(model.parameterCount)),
        ]) { _, new in new }
        if let standardization {
            summary["target_mean"] = .array(standardization.mean.map(JSONValue.number))
            summary["target_std"] = .array(standardization.std.map(JSONValue.number))
        }
        return StepResult(summary: .object(summary))
    }

    /// `45s`, `3m12s`, `1h04m`: the ETA in progress messages.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
        return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
    }

    /// Optimizer steps per epoch. A remainder of one sample joins the last step instead of
    /// forming a step of its own, because a one-sample batch has no BatchNorm statistics.
    static func stepCount(samples: Int, perStep: Int) -> Int {
        let steps = (samples + perStep - 1) / perStep
        return steps > 1 && samples % perStep == 1 ? steps - 1 : steps
    }

    /// Eval-mode forward over `set` (raw mm⁻¹: standardised models are de-standardised):
    /// `val.rmse`, per channel, PSNR (range 1) and optionally SSIM.
    static func validate(_ model: TrainedModel, on set: VolumeSet, batchSize: Int, ssim: Bool, threads: Int) throws -> [String: Double] {
        var acc = MetricAccumulator(dataRange: 1.0, ssim: ssim)
        var start = 0
        while start < set.count {
            let x = try set.batch(Array(start..<min(start + batchSize, set.count))[...])
            let y = try model(Variable(x), .evaluation(threads: threads))
            do { try acc.add(prediction: y.value, target: x) } catch {
                throw StepError("train: validation: \(error)")
            }
            start += batchSize
        }
        return metricTable(acc.result(), prefix: "val.", ssim: ssim)
    }

    /// Metric names of Spec's `Metrics` (`rmse`, `rmse.mua`, …) → values.
    static func metricTable(_ m: VolumeMetrics, prefix: String, ssim: Bool) -> [String: Double] {
        var out: [String: Double] = [prefix + "rmse": m.rmse, prefix + "psnr": m.psnr]
        for (i, name) in ["mua", "musp"].enumerated() where i < m.rmsePerChannel.count {
            out[prefix + "rmse." + name] = m.rmsePerChannel[i]
            out[prefix + "psnr." + name] = m.psnrPerChannel[i]
            if ssim { out[prefix + "ssim." + name] = m.ssimPerChannel[i] }
        }
        if ssim { out[prefix + "ssim"] = m.ssim }
        return out
    }

    static func writeJSON<T: Encodable>(_ value: T, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(value).write(to: url, options: .atomic)
    }
}
