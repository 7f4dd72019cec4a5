import Foundation
import NN
import Tensor
import XCTest

/// Five steps of AdamW and SGD-momentum under every LR schedule (and a linear weight-decay ramp)
/// against torch.optim: the LR of every step and the parameters after every step within 1e-4.
final class OptimizerGoldenTests: XCTestCase {
    static let steps = 5
    static let baseLR = 0.01

    func schedule(_ kind: String) -> LRSchedule {
        switch kind {
        case "plateau": return .plateau(PlateauSettings(mode: .min, patience: 1, factor: 0.5, minLR: 1e-3, threshold: 1e-4, cooldown: 1))
        case "phases": return .phases([LRPhase(epochs: 2, lr: 1e-2), LRPhase(epochs: 2, lr: 5e-3), LRPhase(epochs: 1, lr: 1e-3)])
        case "onecycle": return .oneCycle(OneCycleSettings(maxLR: 0.05))
        case "cosine_warmup": return .cosineWarmup(CosineWarmupSettings(warmupSteps: 2))
        default: return .constant
        }
    }

    func runCase(optimizer kind: String, schedule name: String, wdRamp: Bool = false) throws {
        let f = try Fixture.load("optim_\(kind)_\(name)\(wdRamp ? "_wdlinear" : "")")
        var params = ["w": try f.floats("init.w"), "b": try f.floats("init.b")]
        let optimizer: Optimizer = kind == "adamw"
            ? try AdamW(AdamWSettings(beta1: 0.9, beta2: 0.98, eps: 1e-8)) : try SGD(SGDSettings(momentum: 0.9))
        var scheduler = try LRScheduler(schedule(name), baseLR: Self.baseLR, totalSteps: Self.steps)
        let wd: WeightDecaySchedule = wdRamp ? .ramp(from: 0.05, to: 0.01, shape: .linear, epochs: Self.steps) : .constant(0.01)
        try wd.validate()
        let lrs = try f.doubles("lr"), wds = try f.doubles("weight_decay"), metrics = try f.doubles("metric")
        for s in 0..<Self.steps {
            XCTAssertEqual(scheduler.lr, lrs[s], accuracy: 1e-12 + 1e-9 * lrs[s], "\(kind)/\(name) lr at step \(s)")
            XCTAssertEqual(wd.value(epoch: s), wds[s], accuracy: 1e-12, "\(kind)/\(name) wd at step \(s)")
            let grads = ["w": try f.floats("grad.\(s).w"), "b": try f.floats("grad.\(s).b")]
            let hyper = StepHyperparameters(lr: scheduler.lr, weightDecay: wd.value(epoch: s), momentum: scheduler.momentum)
            try withSlots(&params, grads) { try optimizer.step($0, hyper) }
            // one step per epoch here: both hooks run after every step
            try scheduler.afterOptimizerStep()
            try scheduler.afterEpoch(metric: metrics[s])
            for k in ["w", "b"] {
                assertClose(params[k]!, try f.floats("param.\(s).\(k)"), rtol: 1e-4, "\(kind)/\(name) \(k) after step \(s)")
            }
        }
    }

    func withSlots(_ params: inout [String: [Float]], _ grads: [String: [Float]], _ body: ([ParameterSlot]) throws -> Void) throws {
        var w = params["w"]!, b = params["b"]!
        let gw = grads["w"]!, gb = grads["b"]!
        try w.withUnsafeMutableBufferPointer { wp in
            try b.withUnsafeMutableBufferPointer { bp in
                try gw.withUnsafeBufferPointer { gwp in
                    try gb.withUnsafeBufferPointer { gbp in
                        try body([ParameterSlot(name: "w", value: wp, gradient: gwp), ParameterSlot(name: "b", value: bp, gradient: gbp)])
                    }
                }
            }
        }
        params["w"] = w
        params["b"] = b
    }

    func testAdamWUnderEverySchedule() throws {
        for s in ["constant", "plateau", "phases", "onecycle", "cosine_warmup"] { try runCase(optimizer: "adamw", schedule: s) }
    }

    func testSGDMomentumUnderEverySchedule() throws {
        for s in ["constant", "plateau", "phases", "onecycle", "cosine_warmup"] { try runCase(optimizer: "sgd", schedule: s) }
    }

    func testAdamWWithLinearWeightDecayRamp() throws {
        try runCase(optimizer: "adamw", schedule: "constant", wdRamp: true)
    }

    func testPlateauFollowsPyTorchThresholdAndCooldown() throws {
        var s = try LRScheduler(.plateau(PlateauSettings(patience: 1, factor: 0.5, minLR: 0.1, threshold: 0.1, cooldown: 2)), baseLR: 1, totalSteps: 0)
        // 1.0 best; 0.95 is not better by 10 % → bad 1; 0.92 bad 2 > patience → lr 0.5, cooldown 2
        for m in [1.0, 0.95, 0.92] { try s.afterEpoch(metric: m) }
        XCTAssertEqual(s.lr, 0.5)
        // cooldown epochs do not count as bad
        for m in [0.99, 0.99] { try s.afterEpoch(metric: m) }
        XCTAssertEqual(s.lr, 0.5)
        for m in [0.99, 0.99] { try s.afterEpoch(metric: m) }
        XCTAssertEqual(s.lr, 0.25)
        for _ in 0..<20 { try s.afterEpoch(metric: 5) }
        XCTAssertEqual(s.lr, 0.1, "min_lr floor")
        XCTAssertThrowsError(try s.afterEpoch(metric: nil))
        // the state round-trips through JSON (checkpoints)
        let copy = try JSONDecoder().decode(LRScheduler.self, from: JSONEncoder().encode(s))
        XCTAssertEqual(copy, s)
    }

    func testScheduleValidation() {
        XCTAssertThrowsError(try LRScheduler(.phases([]), baseLR: 1, totalSteps: 1))
        XCTAssertThrowsError(try LRScheduler(.phases([LRPhase(epochs: 0, lr: 1)]), baseLR: 1, totalSteps: 1))
        XCTAssertThrowsError(try LRScheduler(.constant, baseLR: -1, totalSteps: 1))
        XCTAssertThrowsError(try LRScheduler(.plateau(PlateauSettings(factor: 1.5)), baseLR: 1, totalSteps: 1))
        XCTAssertThrowsError(try LRScheduler(.oneCycle(OneCycleSettings(maxLR: 1)), baseLR: 1, totalSteps: 0))
        XCTAssertThrowsError(try WeightDecaySchedule.ramp(from: -1, to: 0, shape: .linear, epochs: 3).validate())
        let cos = WeightDecaySchedule.ramp(from: 5e-4, to: 1e-5, shape: .cosine, epochs: 11)
        XCTAssertEqual(cos.value(epoch: 0), 5e-4, accuracy: 1e-15)
        XCTAssertEqual(cos.value(epoch: 5), (5e-4 + 1e-5) / 2, accuracy: 1e-15)
        XCTAssertEqual(cos.value(epoch: 10), 1e-5, accuracy: 1e-15)
        XCTAssertEqual(cos.value(epoch: 50), 1e-5, accuracy: 1e-15)
    }

    func testClippingEMAAndOptimizerState() throws {
        var g1: [Float] = [3, 0], g2: [Float] = [0, 4]
        try g1.withUnsafeMutableBufferPointer { a in
            try g2.withUnsafeMutableBufferPointer { b in
                let norm = try GradientClipping.clip([("a", a), ("b", b)], maxNorm: 1)
                XCTAssertEqual(norm, 5, accuracy: 1e-9)
            }
        }
        XCTAssertEqual(g1[0], 3 / (5 + 1e-6), accuracy: 1e-6)
        XCTAssertEqual(g2[1], 4 / (5 + 1e-6), accuracy: 1e-6)
        var bad: [Float] = [1, .nan]
        try bad.withUnsafeMutableBufferPointer { p in
            XCTAssertThrowsError(try GradientClipping.clip([("enc.w", p)], maxNorm: 1)) { e in
                XCTAssertEqual(e as? OptimizerError, .nonFiniteGradient(parameter: "enc.w"))
            }
        }

        let ema = try WeightEMA(decay: 0.9)
        [Float(1), 2].withUnsafeBufferPointer { ema.update(name: "p", value: $0) }
        [Float(2), 4].withUnsafeBufferPointer { ema.update(name: "p", value: $0) }
        XCTAssertEqual(ema.shadow["p"]![0], 1.1, accuracy: 1e-6)
        XCTAssertEqual(ema.shadow["p"]![1], 2.2, accuracy: 1e-6)

        // AdamW state survives a safetensors round trip: continuing from it equals not stopping
        var p1: [Float] = [1, -2, 3], p2 = p1
        let g: [Float] = [0.1, 0.2, -0.3]
        let a = try AdamW(), b = try AdamW()
        let hyper = StepHyperparameters(lr: 0.1, weightDecay: 0.01)
        func step(_ opt: AdamW, _ p: inout [Float]) throws {
            try p.withUnsafeMutableBufferPointer { pp in try g.withUnsafeBufferPointer { gp in
                try opt.step([ParameterSlot(name: "x", value: pp, gradient: gp)], hyper)
            } }
        }
        try step(a, &p1); try step(b, &p2)
        let restored = try AdamW()
        try restored.loadState(SafetensorsFile(bytes: b.stateTensors().serialized()))
        XCTAssertEqual(restored.stepCount, 1)
        try step(a, &p1); try step(restored, &p2)
        XCTAssertEqual(p1, p2)
        XCTAssertThrowsError(try SGD().loadState(a.stateTensors()))
        // mismatched gradient size is a typed error, not a crash
        var p3: [Float] = [1, 2]
        try p3.withUnsafeMutableBufferPointer { pp in try g.withUnsafeBufferPointer { gp in
            XCTAssertThrowsError(try a.step([ParameterSlot(name: "x", value: pp, gradient: gp)], hyper))
        } }
    }
}
