import Foundation
import Phantoms
import Spec
import Steps
import Store
import XCTest

/// The train and evaluate steps on real generated phantoms (32³, base_channels 4), run the way
/// `runner step` runs them: output directory, scratch directory, inputs as artifact trees.
final class TrainStepsTests: XCTestCase {
    var base: URL!
    var paths: [String: URL] = [:]
    var counter = 0

    override func setUpWithError() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("train-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base.appendingPathComponent("objects"), withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: base) }

    /// Runs `step`; its output files become objects (what the store does) and the tree is returned.
    func run<S: StepImplementation>(_ step: S, _ params: JSONValue, inputs: [String: ArtifactTree] = [:], scratch: String = "scratch",
                                    progress: @escaping (StepProgress) -> Void = { _ in }, isCancelled: @escaping () -> Bool = { false }) throws -> ArtifactTree {
        let out = base.appendingPathComponent("out-\(UUID().uuidString)")
        let scratchURL = base.appendingPathComponent(scratch)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratchURL, withIntermediateDirectories: true)
        let table = paths
        let context = StepContext(inputs: inputs, objectPath: { digest in
            guard let url = table[digest] else { throw StepError("no object \(digest)") }
            return url
        }, outputDirectory: out, scratchDirectory: scratchURL, threads: 2, progress: progress, isCancelled: isCancelled)
        let result = try step.run(StepRequest(key: String(repeating: "ab", count: 32), kind: S.kind, name: "\(S.kind.rawValue)[baseline, seed 3]",
                                              params: params, inputs: [:], cores: 2), context: context)
        var files = result.linkedFiles
        let enumerator = FileManager.default.enumerator(at: out, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let name = String(url.standardizedFileURL.path.dropFirst(out.standardizedFileURL.path.count + 1))
            counter += 1
            let digest = String(format: "%064x", counter)
            let object = base.appendingPathComponent("objects").appendingPathComponent(digest)
            try FileManager.default.moveItem(at: out.appendingPathComponent(name), to: object)
            paths[digest] = object
            files[name] = digest
        }
        return ArtifactTree(files: files, summary: result.summary)
    }

    func json<T: Encodable>(_ value: T) throws -> JSONValue { try JSONValue(encoding: value) }
    func read(_ tree: ArtifactTree, _ name: String) throws -> Data { try Data(contentsOf: paths[tree.files[name]!]!) }
    func number(_ v: JSONValue?) -> Double? { if case .number(let d)? = v { return d }; return nil }
    /// `metrics.<name>` (metric names contain dots, so not a path).
    func metric(_ doc: JSONValue, _ name: String) -> JSONValue? {
        if case .object(let m)? = doc[path: "metrics"] { return m[name] }
        return nil
    }

    /// generate 12 → clean → split 6/3/3: the data and split inputs of train.
    func data() throws -> (data: ArtifactTree, split: ArtifactTree) {
        let generated = try run(GenerateStep(), try json(SyntheticSource(count: 12, size: 32, seed: 5)))
        let cleaned = try run(CleanStep(), try json(CleanSpec()), inputs: ["data": generated])
        let split = try run(SplitStep(), try json(SplitSpec(ratios: SplitRatios(train: 0.5, val: 0.25, test: 0.25), stratifyBy: [], seed: 3)),
                            inputs: ["data": cleaned])
        return (cleaned, split)
    }

    func trainParams(epochs: Int = 3, optimizer: OptimizerSpec = OptimizerSpec(kind: .adamw, lr: 3e-3, weightDecay: .constant(1e-3)),
                     schedule: ScheduleSpec = .plateau(PlateauSchedule(patience: 0, factor: 0.5))) throws -> JSONValue {
        .object([
            "model": try json(ModelSpec(baseChannels: 4, latentDim: 16)),
            "loss": try json(Spec.LossSpec()),
            "optimizer": try json(optimizer),
            "schedule": try json(schedule),
            "training": try json(TrainingSpec(epochs: epochs, batchSize: 2, accumulate: 1, earlyStopping: EarlyStoppingSpec(enabled: false),
                                              augment: [.flip, .rot90])),
            "seed": .number(3),
        ])
    }

    struct Epoch: Decodable, Equatable {
        var epoch: Int
        var train_loss: Double
        var val_rmse: Double
        var lr: Double
        var val_metrics: [String: Double]
    }

    func testTrainThenEvaluateOnGeneratedPhantoms() throws {
        let (data, split) = try data()
        var messages: [String] = []
        let trained = try run(TrainStep(), try trainParams(), inputs: ["data": data, "split": split], progress: { messages.append($0.message) })
        for name in ["best.safetensors", "last.safetensors", "history.json"] { XCTAssertNotNil(trained.files[name], name) }
        let history = try JSONDecoder().decode([Epoch].self, from: read(trained, "history.json"))
        XCTAssertEqual(history.map(\.epoch), [1, 2, 3])
        XCTAssertLessThan(history.last!.train_loss, history.first!.train_loss, "training loss should fall: \(history.map(\.train_loss))")
        XCTAssertTrue(history.allSatisfy { $0.val_rmse.isFinite && $0.val_rmse > 0 })
        XCTAssertTrue(messages.contains { $0.contains("epoch 1/3 batch 1/3") && $0.contains("samples/s") }, "\(messages.prefix(5))")
        XCTAssertEqual(number(trained.summary[path: "epochs_run"]), 3)
        let bestEpoch = Int(number(trained.summary[path: "best_epoch"]) ?? 0)
        XCTAssertEqual(number(trained.summary[path: "best_val_rmse"]), history.map(\.val_rmse).min())
        XCTAssertEqual(history[bestEpoch - 1].val_rmse, history.map(\.val_rmse).min())
        XCTAssertTrue(FileManager.default.fileExists(atPath: base.appendingPathComponent("scratch/checkpoint/model.safetensors").path))

        let evaluated = try run(EvaluateStep(), try json(EvaluateSpec(metrics: Metrics.all)),
                                inputs: ["model": trained, "data": data, "split": split], scratch: "eval-scratch")
        let doc = try JSONValue(jsonData: read(evaluated, "metrics.json"))
        let rmse = try XCTUnwrap(number(metric(doc, "rmse")))
        let mua = try XCTUnwrap(number(metric(doc, "rmse.mua"))), musp = try XCTUnwrap(number(metric(doc, "rmse.musp")))
        XCTAssertEqual(try XCTUnwrap(number(metric(doc, "psnr"))), 20 * log10(1 / rmse), accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(number(metric(doc, "psnr.mua"))), 20 * log10(1 / mua), accuracy: 1e-9)
        XCTAssertEqual(rmse * rmse, (mua * mua + musp * musp) / 2, accuracy: 1e-12)
        let ssim = try XCTUnwrap(number(metric(doc, "ssim")))
        XCTAssertEqual(ssim, (number(metric(doc, "ssim.mua"))! + number(metric(doc, "ssim.musp"))!) / 2, accuracy: 1e-12)
        XCTAssertTrue(ssim > -1 && ssim <= 1)
        guard case .array(let perPhantom)? = doc[path: "per_phantom"] else { return XCTFail("no per_phantom") }
        XCTAssertEqual(perPhantom.count, 3)
        // overall RMSE = √(mean of per-phantom MSE) (all phantoms have equally many voxels)
        let mse = perPhantom.compactMap { number(metric($0, "rmse")) }.map { $0 * $0 }
        XCTAssertEqual(rmse, (mse.reduce(0, +) / 3).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(number(evaluated.summary[path: "rmse"]), rmse)

        let manifestURL = paths[evaluated.files["manifest.json"]!]!
        let manifest = try Manifest.read(from: manifestURL)
        XCTAssertEqual(manifest.history.count, 3)
        XCTAssertEqual(manifest.variant, "baseline")
        XCTAssertEqual(manifest.seed, 3)
        XCTAssertEqual(manifest.finalMetrics["test.rmse"], rmse)
        XCTAssertEqual(manifest.checkpointSHA256, trained.files["best.safetensors"])
        XCTAssertEqual(manifest.splitFingerprint, split.files["split.json"])
        XCTAssertNotEqual(manifest.datasetFingerprint, "unknown")
    }

    /// A step stopped after its first epoch checkpoint (as a SIGKILL would leave it) resumes and
    /// finishes with the same history and bit-identical weights as an uninterrupted run.
    func testResumedRunIsBitIdenticalToUninterrupted() throws {
        let (data, split) = try data()
        let params = try trainParams()
        let whole = try run(TrainStep(), params, inputs: ["data": data, "split": split], scratch: "whole")

        var epochsDone = 0
        XCTAssertThrowsError(try run(TrainStep(), params, inputs: ["data": data, "split": split], scratch: "resumed",
                                     progress: { if $0.message.contains("done:") { epochsDone += 1 } }, isCancelled: { epochsDone >= 1 })) {
            XCTAssertTrue("\($0)".contains("cancelled"), "\($0)")
        }
        var resumedFrom: String?
        let resumed = try run(TrainStep(), params, inputs: ["data": data, "split": split], scratch: "resumed",
                              progress: { if $0.message.hasPrefix("resuming") { resumedFrom = $0.message } })
        XCTAssertEqual(resumedFrom, "resuming after epoch 1")
        let a = try JSONDecoder().decode([Epoch].self, from: read(whole, "history.json"))
        let b = try JSONDecoder().decode([Epoch].self, from: read(resumed, "history.json"))
        XCTAssertEqual(a, b)
        XCTAssertEqual(try read(whole, "best.safetensors"), try read(resumed, "best.safetensors"))
        XCTAssertEqual(try read(whole, "last.safetensors"), try read(resumed, "last.safetensors"))
    }

    func testNonFiniteLossStopsWithClearMessage() throws {
        let (data, split) = try data()
        let params = try trainParams(epochs: 1, optimizer: OptimizerSpec(kind: .sgd, lr: 1e30, weightDecay: .constant(0)), schedule: .constant)
        XCTAssertThrowsError(try run(TrainStep(), params, inputs: ["data": data, "split": split])) {
            let text = "\($0)"
            XCTAssertTrue(text.contains("NaN or Inf") && text.contains("epoch 1"), text)
        }
    }

    /// `training.precision: bf16` trains (bf16 convolutions, fp32 weights) close to fp32 but not identically.
    func testBF16PrecisionTrainsCloseToFP32() throws {
        let (data, split) = try data()
        func history(_ precision: Spec.Precision) throws -> [Epoch] {
            var params = try trainParams(epochs: 1)
            if case .object(var o) = params {
                o["training"] = try json(TrainingSpec(epochs: 1, batchSize: 2, accumulate: 1, earlyStopping: EarlyStoppingSpec(enabled: false),
                                                      precision: precision, augment: [.flip, .rot90]))
                params = .object(o)
            }
            return try JSONDecoder().decode([Epoch].self, from: read(try run(TrainStep(), params, inputs: ["data": data, "split": split],
                                                                             scratch: "scratch-\(precision)"), "history.json"))
        }
        let f32 = try history(.fp32), b16 = try history(.bf16)
        XCTAssertTrue(b16[0].train_loss.isFinite && b16[0].val_rmse.isFinite)
        XCTAssertNotEqual(b16[0].train_loss, f32[0].train_loss)
        XCTAssertEqual(b16[0].train_loss, f32[0].train_loss, accuracy: 0.05 * f32[0].train_loss)
        XCTAssertEqual(b16[0].val_rmse, f32[0].val_rmse, accuracy: 0.05 * f32[0].val_rmse)
    }

    func testBadInputIsATypedError() throws {
        let (data, split) = try data()
        XCTAssertThrowsError(try run(TrainStep(), try trainParams(), inputs: ["data": data])) {
            XCTAssertTrue("\($0)".contains("missing input 'split'"), "\($0)")
        }
        var params = try trainParams()
        if case .object(var o) = params { o["training"] = try json(TrainingSpec(epochs: 0)); params = .object(o) }
        XCTAssertThrowsError(try run(TrainStep(), params, inputs: ["data": data, "split": split])) {
            XCTAssertTrue("\($0)".contains("training.epochs"), "\($0)")
        }
        XCTAssertThrowsError(try run(EvaluateStep(), try json(EvaluateSpec()), inputs: ["model": ArtifactTree(), "data": data, "split": split])) {
            XCTAssertTrue("\($0)".contains("no best.safetensors"), "\($0)")
        }
    }
}
