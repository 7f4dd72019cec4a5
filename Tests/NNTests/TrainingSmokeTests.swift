import Foundation
import NN
import Tensor
import XCTest

/// A few steps on a tiny batch make the loss fall for the baseline and each ablation knob of
/// DESIGN.md, and each knob observably changes the model or its training.
final class TrainingSmokeTests: XCTestCase {
    struct Variant {
        var config = Stage1Config(baseChannels: 2, latentDim: 16, dropoutRate: 0.05, inputSize: 32)
        var loss = LossSpec()
        var weightDecay = WeightDecaySchedule.constant(1e-3)
        var schedule = LRSchedule.constant
    }

    static let epochs = 2, stepsPerEpoch = 4

    /// Volumes with structure (a smooth blob per sample plus noise) in μa/μs′-like ranges.
    func batch() -> (Tensor, Tensor) {
        let n = 32
        var x = Tensor.uniform(shape: [2, 2, n, n, n], low: 0, high: 0.05, key: RandomKey(seed: 42))
        for s in 0..<2 {
            for c in 0..<2 {
                let scale: Float = c == 0 ? 0.01 : 1.0
                for d in 0..<n { for h in 0..<n { for w in 0..<n {
                    let r2 = Float((d - 16 + 4 * s) * (d - 16 + 4 * s) + (h - 16) * (h - 16) + (w - 14) * (w - 14))
                    x[flat: (((s * 2 + c) * n + d) * n + h) * n + w] += scale * (r2 < 100 ? 1 : 0.3)
                } } }
            }
        }
        return (x, x)
    }

    func train(_ v: Variant, steps: Int = epochs * stepsPerEpoch) throws -> (losses: [Double], lrs: [Double], model: Stage1Model) {
        let model = try Stage1Model(v.config, seed: 7)
        let trainer = try Stage1Trainer(model: model, loss: v.loss, optimizer: AdamW(AdamWSettings(beta1: 0.9, beta2: 0.98)),
                                        scheduler: LRScheduler(v.schedule, baseLR: 3e-3, totalSteps: steps),
                                        weightDecay: v.weightDecay, clipNorm: 5, threads: 2)
        let (x, y) = batch()
        var losses = [Double](), lrs = [Double]()
        for s in 0..<steps {
            let epoch = s / Self.stepsPerEpoch
            let r = try trainer.step([(x, y)], epoch: epoch, dropoutKey: RandomKey(seed: 1, stream: UInt64(s)))
            losses.append(r.loss)
            lrs.append(r.lr)
            if (s + 1) % Self.stepsPerEpoch == 0 { try trainer.endEpoch(metric: r.loss) }
        }
        return (losses, lrs, model)
    }

    func assertLearns(_ r: (losses: [Double], lrs: [Double], model: Stage1Model), _ what: String) {
        XCTAssertTrue(r.losses.allSatisfy(\.isFinite), what)
        XCTAssertLessThan(r.losses.last!, r.losses.first! * 0.9, "\(what): losses \(r.losses)")
    }

    func testBaselineAndEveryAblationLearnAndDiffer() throws {
        let base = Variant()
        let baseline = try train(base)
        assertLearns(baseline, "baseline")

        // attention: new parameters named as the reference model's
        var v = base
        v.config.attentionLayers = [1, 2, 3, 4]
        let att = try train(v)
        assertLearns(att, "attention")
        XCTAssertTrue(att.model.registry.stateNames.contains("encoder.attention4.2.weight"))
        XCTAssertGreaterThan(att.model.parameterCount, baseline.model.parameterCount)

        // deeper: a second residual block per layer
        v = base
        v.config.residualBlocks = 2
        let deeper = try train(v)
        assertLearns(deeper, "2 residual blocks")
        XCTAssertTrue(deeper.model.registry.stateNames.contains("encoder.layer3.1.conv2.weight"))
        XCTAssertGreaterThan(deeper.model.parameterCount, baseline.model.parameterCount)

        // SSIM term: same weights, different loss
        v = base
        v.loss = LossSpec(terms: [.rmse: 0.7, .ssim: 0.3])
        let ssim = try train(v)
        assertLearns(ssim, "ssim loss")
        XCTAssertNotEqual(ssim.losses[0], baseline.losses[0])

        // channel weights μa 2, μs′ 1
        v = base
        v.loss = LossSpec(terms: [.rmse: 1], channelWeights: [2, 1])
        let weighted = try train(v)
        assertLearns(weighted, "channel weights")
        XCTAssertNotEqual(weighted.losses[0], baseline.losses[0])

        // spatial dropout: whole feature maps dropped → a different first loss at the same weights
        v = base
        v.config.dropoutKind = .spatial
        v.config.dropoutRate = 0.1
        let spatial = try train(v)
        assertLearns(spatial, "spatial dropout")
        XCTAssertNotEqual(spatial.losses[0], baseline.losses[0])

        // weight-decay schedule 5e-4 → 1e-5: same losses at first, different weights after training
        v = base
        v.weightDecay = .ramp(from: 5e-4, to: 1e-5, shape: .linear, epochs: Self.epochs)
        let wd = try train(v)
        assertLearns(wd, "wd schedule")
        XCTAssertNotEqual(try wd.model.registry.stateDict().floats("encoder.feature_projection.weight"),
                          try baseline.model.registry.stateDict().floats("encoder.feature_projection.weight"))

        // progressive phases: the LR changes at the epoch boundary
        v = base
        v.schedule = .phases([LRPhase(epochs: 1, lr: 3e-3), LRPhase(epochs: 1, lr: 1e-3)])
        let phases = try train(v)
        assertLearns(phases, "phases")
        XCTAssertEqual(phases.lrs, [3e-3, 3e-3, 3e-3, 3e-3, 1e-3, 1e-3, 1e-3, 1e-3])
        XCTAssertEqual(Set(baseline.lrs), [3e-3])
    }

    func testFixedSeedGivesBitIdenticalLosses() throws {
        let a = try train(Variant(), steps: 3), b = try train(Variant(), steps: 3)
        XCTAssertEqual(a.losses, b.losses)
        XCTAssertEqual(a.model.registry.stateDict(), b.model.registry.stateDict())
    }

    func testThreadCountDoesNotChangeResults() throws {
        // Tensor's kernels split work by output elements / channels and reduce in a fixed order,
        // so 1 and 2 threads give bit-identical training.
        func run(threads: Int) throws -> [Double] {
            let model = try Stage1Model(Variant().config, seed: 7)
            let trainer = try Stage1Trainer(model: model, loss: LossSpec(terms: [.rmse: 0.7, .ssim: 0.3]), optimizer: AdamW(),
                                            scheduler: LRScheduler(.constant, baseLR: 1e-3, totalSteps: 2), threads: threads)
            let (x, y) = batch()
            return try (0..<2).map { s in try trainer.step([(x, y)], epoch: 0, dropoutKey: RandomKey(seed: 1, stream: UInt64(s))).loss }
        }
        XCTAssertEqual(try run(threads: 1), try run(threads: 2))
    }

    func testGradientAccumulationAveragesMicroBatches() throws {
        // two identical micro-batches (no dropout: each micro-batch draws its own mask) accumulate
        // to the gradient of one
        let (x, y) = batch()
        var config = Variant().config
        config.dropoutRate = 0
        func run(_ k: Int) throws -> SafetensorsFile {
            let model = try Stage1Model(config, seed: 7)
            let trainer = try Stage1Trainer(model: model, loss: LossSpec(), optimizer: SGD(SGDSettings(momentum: 0)),
                                            scheduler: LRScheduler(.constant, baseLR: 1e-2, totalSteps: 1))
            let r = try trainer.step(Array(repeating: (x, y), count: k), epoch: 0, dropoutKey: RandomKey(seed: 1))
            XCTAssertGreaterThan(r.gradientNorm, 0)
            var grads = SafetensorsFile()
            for (name, v) in model.parameters where name.hasSuffix("feature_projection.weight") {
                grads[name] = SafetensorsTensor(floats: v.value.storage, shape: v.shape)
            }
            return grads
        }
        let one = try run(1), two = try run(2)
        assertClose(try two.floats("encoder.feature_projection.weight"), try one.floats("encoder.feature_projection.weight"),
                    rtol: 1e-6, "weights after one step")
    }

    func testNonFiniteTargetStopsWithoutTouchingWeights() throws {
        let model = try Stage1Model(Variant().config, seed: 7)
        let before = model.registry.stateDict()
        let trainer = try Stage1Trainer(model: model, loss: LossSpec(), optimizer: AdamW(),
                                        scheduler: LRScheduler(.constant, baseLR: 1e-3, totalSteps: 1))
        let (x, _) = batch()
        var y = x
        y[flat: 3] = .nan
        XCTAssertThrowsError(try trainer.step([(x, y)], epoch: 0, dropoutKey: RandomKey(seed: 1))) { e in
            XCTAssertTrue("\(e)".contains("NaN"), "\(e)")
        }
        // parameters unchanged (BN running statistics saw the forward, as in PyTorch)
        let after = model.registry.stateDict()
        for (name, _) in model.parameters { XCTAssertEqual(after[name], before[name], name) }
    }

    func testCheckpointRoundTripResumesIdentically() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nn-ckpt-\(ProcessInfo.processInfo.processIdentifier)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let v = Variant()
        let (x, y) = batch()
        func makeTrainer(_ model: Stage1Model) throws -> Stage1Trainer {
            try Stage1Trainer(model: model, loss: v.loss, optimizer: AdamW(),
                              scheduler: LRScheduler(.oneCycle(OneCycleSettings(maxLR: 1e-2)), baseLR: 1e-2, totalSteps: 4),
                              weightDecay: v.weightDecay, ema: WeightEMA(decay: 0.9), threads: 2)
        }
        // uninterrupted: 4 steps
        let m1 = try Stage1Model(v.config, seed: 7), t1 = try makeTrainer(m1)
        for s in 0..<4 { _ = try t1.step([(x, y)], epoch: 0, dropoutKey: RandomKey(seed: 1, stream: UInt64(s))) }
        // interrupted after 2 steps, saved, restored into fresh objects, 2 more steps
        let m2 = try Stage1Model(v.config, seed: 7), t2 = try makeTrainer(m2)
        for s in 0..<2 { _ = try t2.step([(x, y)], epoch: 0, dropoutKey: RandomKey(seed: 1, stream: UInt64(s))) }
        try Checkpoint.save(to: dir, model: m2, optimizer: t2.optimizer,
                            state: TrainingCheckpointState(scheduler: t2.scheduler, extra: Data(#"{"step":2}"#.utf8)), ema: t2.ema)
        let m3 = try Stage1Model(v.config, seed: 99), t3 = try makeTrainer(m3)
        let state = try Checkpoint.load(from: dir, model: m3, optimizer: t3.optimizer, ema: t3.ema)
        XCTAssertEqual(String(decoding: state.extra, as: UTF8.self), #"{"step":2}"#)
        t3.scheduler = state.scheduler
        for s in 2..<4 { _ = try t3.step([(x, y)], epoch: 0, dropoutKey: RandomKey(seed: 1, stream: UInt64(s))) }
        XCTAssertEqual(m3.registry.stateDict(), m1.registry.stateDict())
        XCTAssertEqual(t3.ema!.shadow, t1.ema!.shadow)

        // model.safetensors holds exactly the PyTorch state_dict names (strict loading)
        let saved = try SafetensorsFile(contentsOf: dir.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(Set(saved.tensors.keys), Set(m1.registry.stateNames))
        XCTAssertEqual(saved["decoder.deconv1.1.num_batches_tracked"]?.dtype, .i64)

        // a checkpoint of another architecture is refused with names, nothing changed
        var other = v.config
        other.residualBlocks = 2
        let m4 = try Stage1Model(other), t4 = try makeTrainer(m4)
        let untouched = m4.registry.stateDict()
        XCTAssertThrowsError(try Checkpoint.load(from: dir, model: m4, optimizer: t4.optimizer, ema: t4.ema)) { e in
            XCTAssertTrue("\(e)".contains("residualBlocks"), "\(e)")
        }
        XCTAssertEqual(m4.registry.stateDict(), untouched)
        var sd = saved
        sd.metadata = [:]
        XCTAssertThrowsError(try Checkpoint.loadModel(m4, from: sd)) { e in
            XCTAssertTrue("\(e)".contains("missing") && "\(e)".contains("layer1.1"), "\(e)")
        }
    }
}
