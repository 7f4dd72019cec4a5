import Foundation
import NN
import Spec
import Store
import Tensor

/// `evaluate`: the train step's best (or last) checkpoint in eval mode on one split part (test by
/// default): RMSE, SSIM, PSNR, MAE overall and per channel, and per phantom so comparisons can
/// be paired. Writes `metrics.json`, the run's `manifest.json` (see `RunManifest`) and
/// `slices.safetensors` (central slices of the first test phantoms, for the report).
public struct EvaluateStep: StepImplementation {
    public static let kind = StepKind.evaluate
    public static let codeVersion = 2   // 2: slices for the report; manifest records runnerCommit, buildConfiguration, deterministic
    public static let metricsName = "metrics.json"
    public static let slicesName = "slices.safetensors"
    /// How many phantoms (the first ones of the evaluated part) get their central slices saved.
    public static let slicePhantoms = 3
    static let batchSize = 4
    public init() {}

    public func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        let spec = try DataParams.decode(EvaluateSpec.self, request.params, step: .evaluate)
        guard spec.dataRange > 0, spec.dataRange.isFinite else { throw StepError("evaluate: data_range must be > 0 (got \(spec.dataRange))") }
        for name in spec.metrics where !Metrics.all.contains(name) {
            throw StepError("evaluate: unknown metric '\(name)' (known: \(Metrics.all.joined(separator: ", ")))")
        }
        let modelTree = try DataParams.input(context, role: "model", step: .evaluate)
        let checkpointName = spec.checkpoint == .best ? TrainStep.bestName : TrainStep.lastName
        guard let checkpointDigest = modelTree.files[checkpointName] else {
            throw StepError("evaluate: the model input has no \(checkpointName) (is it the train step's output?)")
        }
        let model = try Self.loadModel(context.objectPath(checkpointDigest), name: checkpointName)
        let (ids, splitDigest) = try VolumeSet.splitIDs(context, part: spec.split.rawValue, step: .evaluate)
        let set = try VolumeSet.load(context, ids: ids, part: spec.split.rawValue, step: .evaluate)
        guard set.size == model.config.inputSize else {
            throw StepError("evaluate: the checkpoint was trained on \(model.config.inputSize)³ volumes but the \(spec.split.rawValue) phantoms are \(set.size)³")
        }

        var perPhantom: [(id: Int, metrics: PhantomMetrics)] = []
        var slices = CentralSlices(size: set.size)
        var start = 0
        while start < set.count {
            if context.isCancelled() { throw StepError("evaluate: cancelled") }
            let indices = Array(start..<min(start + Self.batchSize, set.count))
            let x = try set.batch(indices[...])
            let y = try model(Variable(x), .evaluation(threads: max(1, context.threads)))
            for (k, i) in indices.enumerated() {
                perPhantom.append((set.ids[i], try PhantomMetrics(prediction: y.value, target: x, sample: k, size: set.size, dataRange: spec.dataRange)))
                if i < Self.slicePhantoms { slices.add(id: set.ids[i], prediction: y.value, target: x, sample: k) }
            }
            start += indices.count
            context.progress(StepProgress(done: start, total: set.count, message: "phantoms"))
        }
        let overall = PhantomMetrics.aggregate(perPhantom.map(\.metrics), dataRange: spec.dataRange)
        let selected = overall.table.filter { spec.metrics.contains($0.key) }
        for (name, value) in selected where !value.isFinite && !name.hasPrefix("psnr") {
            throw StepError("evaluate: \(name) is \(value) (the model's output is not finite)")
        }
        let document: JSONValue = .object([
            "split": .string(spec.split.rawValue),
            "checkpoint": .string(checkpointName),
            "checkpoint_sha256": .string(checkpointDigest),
            "data_range": .number(spec.dataRange),
            "phantoms": .number(Double(set.count)),
            "metrics": .object(selected.mapValues(JSONValue.number)),
            "all_metrics": .object(overall.table.mapValues(JSONValue.number)),
            "per_phantom": .array(perPhantom.map { item in
                .object(["id": .number(Double(item.id)), "metrics": .object(item.metrics.table.mapValues(JSONValue.number))])
            }),
        ])
        try DataParams.writeJSON(document, to: context.outputDirectory.appendingPathComponent(Self.metricsName))
        try slices.file.write(to: context.outputDirectory.appendingPathComponent(Self.slicesName))
        let manifest = try RunManifest.make(request: request, context: context, modelTree: modelTree, checkpointName: checkpointName,
                                            checkpointDigest: checkpointDigest, splitDigest: splitDigest,
                                            metrics: overall.table, split: spec.split.rawValue)
        try manifest.write(to: context.outputDirectory.appendingPathComponent(RunManifest.fileName))
        return StepResult(summary: .object(selected.mapValues(JSONValue.number).merging(
            ["phantoms": .number(Double(set.count)), "split": .string(spec.split.rawValue)]) { a, _ in a }))
    }

    /// A Stage 1 model from a checkpoint written by the train step (config and, when trained on
    /// standardised targets, the statistics are in its metadata; see `TrainedModel`).
    static func loadModel(_ url: URL, name: String) throws -> TrainedModel {
        do { return try TrainedModel.load(url, name: name) } catch { throw StepError("evaluate: \(error)") }
    }
}

/// The central slice (index size/2 along the first spatial axis) of truth and prediction, both
/// channels, of a few phantoms: `truth` and `prediction` [n, 2, size, size] f32, `ids` [n] i64.
struct CentralSlices {
    let size: Int
    var ids: [Int64] = []
    var truth: [Float] = []
    var prediction: [Float] = []

    init(size: Int) { self.size = size }

    mutating func add(id: Int, prediction p: Tensor, target t: Tensor, sample: Int) {
        let v = size * size * size, plane = size * size, offset = (size / 2) * plane
        ids.append(Int64(id))
        for c in 0..<2 {
            let base = (sample * 2 + c) * v + offset
            t.withUnsafeBufferPointer { truth += $0[base..<(base + plane)] }
            p.withUnsafeBufferPointer { prediction += $0[base..<(base + plane)] }
        }
    }

    var file: SafetensorsFile {
        let shape = [ids.count, 2, size, size]
        return SafetensorsFile(tensors: ["ids": SafetensorsTensor(int64s: ids, shape: [ids.count]),
                                         "truth": SafetensorsTensor(floats: truth, shape: shape),
                                         "prediction": SafetensorsTensor(floats: prediction, shape: shape)],
                               metadata: ["axis": "0", "index": String(size / 2), "channels": "mua,musp"])
    }
}

/// Metrics of one phantom (both channels) — summed squared/absolute errors so that the overall
/// values are exact aggregates, and SSIM per channel (scikit-image's 3D SSIM).
struct PhantomMetrics {
    var squaredError: [Double]
    var absoluteError: [Double]
    var ssim: [Double]
    var voxels: Int
    let dataRange: Double

    init(prediction: Tensor, target: Tensor, sample: Int, size: Int, dataRange: Double) throws {
        let v = size * size * size
        self.dataRange = dataRange
        voxels = v
        squaredError = [0, 0]; absoluteError = [0, 0]; ssim = [0, 0]
        try prediction.withUnsafeBufferPointer { p in
            try target.withUnsafeBufferPointer { t in
                for c in 0..<2 {
                    let base = (sample * 2 + c) * v
                    var se = 0.0, ae = 0.0
                    for i in base..<(base + v) {
                        let d = Double(p[i]) - Double(t[i])
                        se += d * d; ae += abs(d)
                    }
                    guard se.isFinite else { throw StepError("evaluate: the model's output for sample \(sample) channel \(c) is not finite") }
                    squaredError[c] = se; absoluteError[c] = ae
                    ssim[c] = SSIM3D.volume(UnsafeBufferPointer(rebasing: p[base..<(base + v)]), UnsafeBufferPointer(rebasing: t[base..<(base + v)]),
                                            shape: [size, size, size], dataRange: dataRange)
                }
            }
        }
    }

    private init(squaredError: [Double], absoluteError: [Double], ssim: [Double], voxels: Int, dataRange: Double) {
        self.squaredError = squaredError; self.absoluteError = absoluteError; self.ssim = ssim; self.voxels = voxels; self.dataRange = dataRange
    }

    /// Sums errors (so RMSE is over every voxel) and averages SSIM over the phantoms.
    static func aggregate(_ items: [PhantomMetrics], dataRange: Double) -> PhantomMetrics {
        let n = Double(max(1, items.count))
        return PhantomMetrics(squaredError: (0..<2).map { c in items.map { $0.squaredError[c] }.reduce(0, +) },
                              absoluteError: (0..<2).map { c in items.map { $0.absoluteError[c] }.reduce(0, +) },
                              ssim: (0..<2).map { c in items.map { $0.ssim[c] }.reduce(0, +) / n },
                              voxels: items.map(\.voxels).reduce(0, +), dataRange: dataRange)
    }

    /// Spec's metric names → values: rmse, rmse.mua, rmse.musp, ssim…, psnr…, mae….
    var table: [String: Double] {
        let v = Double(max(1, voxels))
        let rmse = squaredError.map { ($0 / v).squareRoot() }
        let overall = (squaredError.reduce(0, +) / (2 * v)).squareRoot()
        let psnr = { (r: Double) in 20 * log10(dataRange / r) }
        var out: [String: Double] = ["rmse": overall, "psnr": psnr(overall), "ssim": ssim.reduce(0, +) / 2,
                                     "mae": absoluteError.reduce(0, +) / (2 * v)]
        for (c, name) in ["mua", "musp"].enumerated() {
            out["rmse." + name] = rmse[c]; out["psnr." + name] = psnr(rmse[c])
            out["ssim." + name] = ssim[c]; out["mae." + name] = absoluteError[c] / v
        }
        return out
    }
}
