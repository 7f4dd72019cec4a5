import Foundation
import NN
import Store

/// The report step's parameters as the planner makes them: variant names in experiment order,
/// the seeds seen (first-seen order) and the metrics of `evaluate.metrics` (the first is primary).
public struct ReportParams: Codable, Sendable, Equatable {
    public var variants: [String]
    public var seeds: [Int]
    public var metrics: [String]

    public init(variants: [String], seeds: [Int], metrics: [String]) {
        self.variants = variants; self.seeds = seeds; self.metrics = metrics
    }

    /// The input role of a variant's train or evaluate step (the planner's step names).
    public static func role(_ kind: StepKind, variant: String, seed: Int) -> String { "\(kind.rawValue)[\(variant), seed \(seed)]" }
}

/// One epoch of a learning curve (from the train step's `history.json`).
public struct CurvePoint: Equatable, Sendable {
    public var epoch: Int
    public var trainRMSE: Double?
    public var valRMSE: Double
    public var lr: Double
}

/// Central slices saved by the evaluate step: `truth`/`prediction` are [n, 2, size, size].
public struct SliceSet: Equatable, Sendable {
    public var size: Int
    public var ids: [Int]
    public var truth: [Float]
    public var prediction: [Float]
    /// Index of the slice along the first spatial axis.
    public var index: Int

    /// Row-major size×size plane of phantom `n`, channel `c` (0 μa, 1 μs′).
    public func plane(_ values: [Float], phantom n: Int, channel c: Int) -> ArraySlice<Float> {
        let p = size * size, base = (n * 2 + c) * p
        return values[base..<(base + p)]
    }
}

/// Everything the report knows of one (variant, seed) run.
public struct ReportRun: Sendable {
    public var variant: String
    public var seed: Int
    /// `all_metrics` of the evaluate step (every metric it computes).
    public var metrics: [String: Double]
    /// Phantom id → metric → value.
    public var perPhantom: [Int: [String: Double]]
    public var curve: [CurvePoint]
    public var slices: SliceSet?
    /// Test phantoms the evaluate step scored.
    public var phantoms: Int

    public init(variant: String, seed: Int, metrics: [String: Double], perPhantom: [Int: [String: Double]],
                curve: [CurvePoint] = [], slices: SliceSet? = nil, phantoms: Int? = nil) {
        self.variant = variant; self.seed = seed; self.metrics = metrics; self.perPhantom = perPhantom
        self.curve = curve; self.slices = slices; self.phantoms = phantoms ?? perPhantom.count
    }
}

/// Reading the runs from the report step's inputs (train and evaluate outputs, by role).
public enum ReportInputs {
    public static func gather(_ params: ReportParams, inputs: [String: ArtifactTree], objectPath: (String) throws -> URL) throws -> [ReportRun] {
        guard !params.variants.isEmpty else { throw StepError("report: no variants to report") }
        var runs: [ReportRun] = []
        var missing: [String] = []
        for variant in params.variants {
            var found = false
            for seed in params.seeds {
                let evaluateRole = ReportParams.role(.evaluate, variant: variant, seed: seed)
                guard let evaluated = inputs[evaluateRole] else { continue }
                found = true
                var run = try readEvaluate(evaluated, role: evaluateRole, variant: variant, seed: seed, objectPath: objectPath)
                let trainRole = ReportParams.role(.train, variant: variant, seed: seed)
                if let trained = inputs[trainRole] { run.curve = try readCurve(trained, role: trainRole, objectPath: objectPath) }
                runs.append(run)
            }
            if !found { missing.append(variant) }
        }
        if !missing.isEmpty {
            throw StepError("report: no evaluate results for variant(s) \(missing.joined(separator: ", ")) (inputs: \(inputs.keys.sorted().joined(separator: ", ")))")
        }
        return runs
    }

    static func readEvaluate(_ tree: ArtifactTree, role: String, variant: String, seed: Int, objectPath: (String) throws -> URL) throws -> ReportRun {
        guard let digest = tree.files[EvaluateStep.metricsName] else {
            throw StepError("report: input \(role) has no \(EvaluateStep.metricsName) (is it an evaluate step's output?)")
        }
        let document: JSONValue
        do { document = try JSONValue(jsonData: Data(contentsOf: objectPath(digest))) } catch {
            throw StepError("report: cannot read \(role)'s \(EvaluateStep.metricsName): \(error)")
        }
        let metrics = numbers(document[path: "all_metrics"]) .merging(numbers(document[path: "metrics"])) { a, _ in a }
        var perPhantom: [Int: [String: Double]] = [:]
        if case .array(let items)? = document[path: "per_phantom"] {
            for item in items {
                guard case .number(let id)? = item[path: "id"] else {
                    throw StepError("report: \(role)'s per_phantom entry has no id: \(item.canonicalText.prefix(120))")
                }
                perPhantom[Int(id)] = numbers(item[path: "metrics"])
            }
        }
        var slices: SliceSet?
        if let sliceDigest = tree.files[EvaluateStep.slicesName] {
            slices = try readSlices(objectPath(sliceDigest), role: role)
        }
        let phantoms: Int
        if case .number(let n)? = document[path: "phantoms"] { phantoms = Int(n) } else { phantoms = perPhantom.count }
        return ReportRun(variant: variant, seed: seed, metrics: metrics, perPhantom: perPhantom, slices: slices, phantoms: phantoms)
    }

    static func readCurve(_ tree: ArtifactTree, role: String, objectPath: (String) throws -> URL) throws -> [CurvePoint] {
        guard let digest = tree.files[TrainStep.historyName] else { return [] }
        let document: JSONValue
        do { document = try JSONValue(jsonData: Data(contentsOf: objectPath(digest))) } catch {
            throw StepError("report: cannot read \(role)'s \(TrainStep.historyName): \(error)")
        }
        guard case .array(let epochs) = document else { throw StepError("report: \(role)'s \(TrainStep.historyName) is not a list of epochs") }
        return try epochs.map { e in
            guard case .number(let epoch)? = e[path: "epoch"], case .number(let val)? = e[path: "val_rmse"], case .number(let lr)? = e[path: "lr"] else {
                throw StepError("report: \(role)'s \(TrainStep.historyName) has an epoch without epoch/val_rmse/lr: \(e.canonicalText.prefix(120))")
            }
            var train: Double?
            if case .number(let t)? = e[path: "train_rmse"] { train = t }
            return CurvePoint(epoch: Int(epoch), trainRMSE: train, valRMSE: val, lr: lr)
        }
    }

    static func readSlices(_ url: URL, role: String) throws -> SliceSet {
        do {
            let file = try SafetensorsFile(contentsOf: url)
            let truth = try file.tensor("truth"), prediction = try file.tensor("prediction")
            let ids = try file.tensor("ids").int64s().map { Int($0) }
            guard truth.shape.count == 4, truth.shape == prediction.shape, truth.shape[0] == ids.count, truth.shape[1] == 2,
                  truth.shape[2] == truth.shape[3] else {
                throw StepError("report: \(role)'s \(EvaluateStep.slicesName) has shapes \(truth.shape) / \(prediction.shape) for \(ids.count) ids")
            }
            let size = truth.shape[2]
            return SliceSet(size: size, ids: ids, truth: truth.floats(), prediction: prediction.floats(),
                            index: Int(file.metadata["index"] ?? "") ?? size / 2)
        } catch let e as StepError { throw e } catch {
            throw StepError("report: cannot read \(role)'s \(EvaluateStep.slicesName): \(error)")
        }
    }

    static func numbers(_ value: JSONValue?) -> [String: Double] {
        guard case .object(let fields)? = value else { return [:] }
        return fields.compactMapValues { if case .number(let d) = $0 { return d } else { return nil } }
    }
}
