import Foundation
import NN
import Phantoms
import Spec
import Steps
import Store
import Tensor
import XCTest

/// `training.standardize_targets: true` and `optimizer.nesterov` through the train and evaluate
/// steps (same harness as TrainStepsTests: real generated phantoms, 32³, base_channels 4).
extension TrainStepsTests {
    func params(_ training: TrainingSpec, optimizer: OptimizerSpec = OptimizerSpec(kind: .adamw, lr: 3e-3, weightDecay: .constant(1e-3))) throws -> JSONValue {
        guard case .object(var o) = try trainParams(optimizer: optimizer) else { throw XCTSkip("params are an object") }
        o["training"] = try json(training)
        return .object(o)
    }

    /// Ground truth of the split part `part`, read from the clean step's files.
    func volumes(_ part: String, data: ArtifactTree, split: ArtifactTree) throws -> [[Float]] {
        let doc = try JSONValue(jsonData: read(split, "split.json"))
        guard case .array(let items)? = doc[path: "parts"]?[path: part] else { throw XCTSkip("no part \(part)") }
        var byID: [Int: String] = [:]
        for (name, digest) in data.files { if let id = PhantomIO.phantomID(fromPath: name) { byID[id] = digest } }
        return try items.map { item in
            guard case .number(let d) = item, let digest = byID[Int(d)] else { throw XCTSkip("phantom \(item) not in the data") }
            return try PhantomIO.read(paths[digest]!).groundTruth
        }
    }

    /// Mean and population std per channel, in Double, written out independently of the step's code.
    func statistics(_ volumes: [[Float]]) -> (mean: [Double], std: [Double]) {
        let v = volumes[0].count / 2
        var mean = [0.0, 0.0], std = [0.0, 0.0]
        for c in 0..<2 {
            let values = volumes.flatMap { $0[(c * v)..<((c + 1) * v)] }.map(Double.init)
            mean[c] = values.reduce(0, +) / Double(values.count)
            std[c] = (values.map { ($0 - mean[c]) * ($0 - mean[c]) }.reduce(0, +) / Double(values.count)).squareRoot()
        }
        return (mean, std)
    }

    /// RMSE over every voxel (raw mm⁻¹) of `model` on `volumes`, standardising by hand: the network
    /// sees (x − mean)/std and its output y maps back to y·std + mean.
    func rawRMSE(_ model: Stage1Model, mean: [Double], std: [Double], on volumes: [[Float]], batch: Int) throws -> Double {
        var squares = 0.0, count = 0
        let size = Int(round(pow(Double(volumes[0].count / 2), 1.0 / 3)))
        let v = size * size * size
        var start = 0
        while start < volumes.count {
            let chunk = Array(volumes[start..<min(start + batch, volumes.count)])
            var input: [Float] = []
            for volume in chunk {
                for c in 0..<2 { input += volume[(c * v)..<((c + 1) * v)].map { ($0 - Float(mean[c])) / Float(std[c]) } }
            }
            let y = try model(Variable(try Tensor(shape: [chunk.count, 2, size, size, size], storage: input)), .evaluation(threads: 2)).value
            for (k, volume) in chunk.enumerated() {
                for c in 0..<2 {
                    for i in 0..<v {
                        let raw = y[flat: (k * 2 + c) * v + i] * Float(std[c]) + Float(mean[c])
                        let d = Double(raw) - Double(volume[c * v + i])
                        squares += d * d
                    }
                }
                count += 2 * v
            }
            start += chunk.count
        }
        return (squares / Double(count)).squareRoot()
    }

    func testStandardizedTargetsAreFittedOnTheTrainPartOnlyAndMetricsStayRaw() throws {
        let (data, split) = try data()
        let training = TrainingSpec(epochs: 2, batchSize: 2, accumulate: 1, earlyStopping: EarlyStoppingSpec(enabled: false),
                                    augment: [.flip], standardizeTargets: true)
        let trained = try run(TrainStep(), try params(training), inputs: ["data": data, "split": split])

        // The statistics are those of the train part — not of train+val, not of everything.
        let train = try volumes("train", data: data, split: split), val = try volumes("val", data: data, split: split)
        let test = try volumes("test", data: data, split: split)
        let expected = statistics(train)
        guard case .array(let m)? = trained.summary[path: "target_mean"], case .array(let s)? = trained.summary[path: "target_std"] else {
            return XCTFail("the summary has no target statistics: \(trained.summary)")
        }
        let mean = m.compactMap { number($0) }, std = s.compactMap { number($0) }
        for c in 0..<2 {
            XCTAssertEqual(mean[c], expected.mean[c], accuracy: 1e-9 * abs(expected.mean[c]))
            XCTAssertEqual(std[c], expected.std[c], accuracy: 1e-9 * expected.std[c])
        }
        let withVal = statistics(train + val)
        XCTAssertNotEqual(withVal.mean[1], expected.mean[1], "the train part alone differs from train+val (else this test proves nothing)")
        XCTAssertGreaterThan(abs(withVal.mean[1] - mean[1]), 1e-6)

        // Both checkpoints carry the statistics; loading applies them.
        for name in ["best.safetensors", "last.safetensors"] {
            let model = try TrainedModel.load(paths[trained.files[name]!]!, name: name)
            XCTAssertEqual(model.standardization?.mean, mean, name)
            XCTAssertEqual(model.standardization?.std, std, name)
        }

        // Validation metrics in history are raw mm⁻¹: recomputed by hand from last.safetensors.
        let history = try JSONDecoder().decode([Epoch].self, from: read(trained, "history.json"))
        let last = try TrainedModel.load(paths[trained.files["last.safetensors"]!]!, name: "last")
        let valRMSE = try rawRMSE(last.model, mean: mean, std: std, on: val, batch: 2)
        XCTAssertEqual(history.last!.val_rmse, valRMSE, accuracy: 1e-5 * valRMSE)

        // Evaluate reports raw units too: test RMSE of best.safetensors, recomputed by hand.
        let evaluated = try run(EvaluateStep(), try json(EvaluateSpec(metrics: ["rmse", "rmse.musp"])),
                                inputs: ["model": trained, "data": data, "split": split], scratch: "eval")
        let doc = try JSONValue(jsonData: read(evaluated, "metrics.json"))
        let best = try TrainedModel.load(paths[trained.files["best.safetensors"]!]!, name: "best")
        let testRMSE = try rawRMSE(best.model, mean: mean, std: std, on: test, batch: 4)
        XCTAssertEqual(try XCTUnwrap(number(metric(doc, "rmse"))), testRMSE, accuracy: 1e-5 * testRMSE)

        // Without standardisation the same seed trains on raw targets: different weights, no statistics.
        var rawTraining = training
        rawTraining.standardizeTargets = false
        let raw = try run(TrainStep(), try params(rawTraining), inputs: ["data": data, "split": split], scratch: "raw")
        XCTAssertNil(try TrainedModel.load(paths[raw.files["best.safetensors"]!]!, name: "raw").standardization)
        XCTAssertNotEqual(try read(raw, "last.safetensors"), try read(trained, "last.safetensors"))
        XCTAssertNil(raw.summary[path: "target_mean"])
    }

    func testStandardisationOfAConstantChannelIsRefused() throws {
        XCTAssertThrowsError(try TargetStandardization.fit([[1, 1, 1, 0.5, 0.7, 0.9]], channels: 2)) {
            XCTAssertTrue("\($0)".contains("channel 0 is constant"), "\($0)")
        }
        XCTAssertThrowsError(try TargetStandardization(mean: [0, 0], std: [1, 0]))
        let s = try TargetStandardization.fit([[1, 2, 3, 10, 20, 30], [3, 4, 5, 30, 40, 50]], channels: 2)
        XCTAssertEqual(s.mean, [3, 30])
        XCTAssertEqual(s.std[0], (10.0 / 6).squareRoot(), accuracy: 1e-12)   // deviations 2,1,0,0,1,2
        // de-standardising a standardised batch gives back the raw values
        let x = try Tensor(shape: [1, 2, 3], storage: [1, 2, 3, 10, 20, 30])
        let back = try s.destandardize(try s.standardize(x))
        for i in 0..<6 { XCTAssertEqual(back[flat: i], x[flat: i], accuracy: 1e-5) }
        XCTAssertEqual(try s.standardize(x).storage, s.standardize([1, 2, 3, 10, 20, 30] as [Float]), "batch and volume forms agree")
    }

    func testNesterovMomentumTrainsAndDiffersFromPlainMomentum() throws {
        let (data, split) = try data()
        let training = TrainingSpec(epochs: 1, batchSize: 2, accumulate: 1, earlyStopping: EarlyStoppingSpec(enabled: false), augment: [])
        let plain = try run(TrainStep(), try params(training, optimizer: OptimizerSpec(kind: .sgd, lr: 1e-2, momentum: 0.9, weightDecay: .constant(0))),
                            inputs: ["data": data, "split": split], scratch: "plain")
        let nesterov = try run(TrainStep(), try params(training, optimizer: OptimizerSpec(kind: .sgd, lr: 1e-2, momentum: 0.9, nesterov: true,
                                                                                          weightDecay: .constant(0))),
                               inputs: ["data": data, "split": split], scratch: "nesterov")
        XCTAssertNotEqual(try read(plain, "last.safetensors"), try read(nesterov, "last.safetensors"))
        XCTAssertThrowsError(try run(TrainStep(), try params(training, optimizer: OptimizerSpec(kind: .adamw, lr: 1e-3, nesterov: true)),
                                     inputs: ["data": data, "split": split], scratch: "bad")) {
            XCTAssertTrue("\($0)".contains("optimizer.nesterov applies to kind sgd only"), "\($0)")
        }
    }
}
