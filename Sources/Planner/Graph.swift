import Foundation
import Store

/// Cores the planner asks for per step. Not part of any key.
public struct CoreBudget: Codable, Sendable, Hashable {
    /// Cores of the machine (or of the `--cores` budget): generation uses all of them.
    public var total: Int
    /// Cores of one training step; defaults to `total`.
    public var train: Int
    /// Without an explicit `train`, an experiment's train steps share `total` (local executor): on
    /// 2 cores two 1-thread trainings side by side finish 1.6× sooner than one after the other on
    /// 2 threads each (32³, measured), as the engine's loops scale less than linearly.
    public var sharedByTrainSteps: Bool
    /// Memory the steps may use together (MB): train steps share the cores only as far as their
    /// modelled peaks (`MemoryModel.memoryMB`) fit in it side by side. Nil: no limit.
    public var memoryMB: Int?

    public init(total: Int, train: Int? = nil, shareAmongTrainSteps: Bool = false, memoryMB: Int? = nil) {
        self.total = max(1, total)
        self.train = max(1, min(train ?? total, max(1, total)))
        self.sharedByTrainSteps = train == nil && shareAmongTrainSteps
        self.memoryMB = memoryMB
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        total = try c.decode(Int.self, forKey: .total)
        train = try c.decode(Int.self, forKey: .train)
        // plans saved before these fields
        sharedByTrainSteps = try c.decodeIfPresent(Bool.self, forKey: .sharedByTrainSteps) ?? false
        memoryMB = try c.decodeIfPresent(Int.self, forKey: .memoryMB)
    }

    /// Three quarters of this machine's physical memory, for `memoryMB`.
    public static var machineMemoryMB: Int? {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return nil }
        return Int(Double(pages) * Double(size) / 1_048_576 * 0.75)
    }

    /// Cores of each of an experiment's `trainSteps` train steps. It counts all of them, cached or
    /// not, so a resumed apply gives a step the thread count it started with (bit-identical resume).
    func trainCores(among trainSteps: Int) -> Int {
        guard sharedByTrainSteps, trainSteps > 1 else { return train }
        return max(1, total / trainSteps)
    }

    func cores(for kind: PlanStepKind) -> Int {
        switch kind {
        case .generate: return total
        case .clean, .evaluate: return min(2, total)
        case .ingest, .split, .report: return 1
        case .train: return train
        }
    }
}

/// One node of an experiment graph.
public struct GraphStep: Sendable, Hashable {
    public var key: String
    public var kind: PlanStepKind
    /// Unique within the experiment: `split`, `split[<first variant using it>]` when the
    /// experiment has several, `train[attention, seed 28]`, `report`.
    public var name: String
    /// Exactly what the key hashed; the step implementation decodes it.
    public var params: JSONValue
    /// Role → content key of the producing step.
    public var inputs: [String: String]
    public var cores: Int
    /// Variant and seed of train and evaluate steps (of the first variant, when shared).
    public var variant: String?
    public var seed: Int?
    public var work: Workload
}

/// The DAG of one experiment: generate | ingest → clean → split → train(variant, seed) →
/// evaluate(variant, seed) → report. Steps are deduplicated by content key, so variants with
/// the same data configuration share their data steps. Steps are in topological order.
public struct ExperimentGraph: Sendable, Hashable {
    public var experiment: String
    public var steps: [GraphStep]

    public static func build(_ experiment: ExperimentInput, directories: [String: DirectoryFingerprint], cores: CoreBudget) throws -> ExperimentGraph {
        var builder = Builder(experiment: experiment.name, cores: cores)
        guard !experiment.variants.isEmpty else { throw PlannerError.noVariants(experiment: experiment.name) }
        var reportInputs: [String: String] = [:]
        var variantNames: [JSONValue] = [], seedsSeen = Set<Int>(), seedsInOrder: [JSONValue] = []
        var metricsSeen = Set<JSONValue>(), metrics: [JSONValue] = []

        for variant in experiment.variants {
            let data = try builder.dataSteps(variant, directories: directories)
            let trainSections = try StepParams.trainSections(variant, experiment: experiment.name)
            let evaluateParams = try StepParams.evaluate(variant, experiment: experiment.name)
            let trainWork = data.counts.trainWorkload(variant)
            let evaluateWork = data.counts.evaluateWorkload(variant)
            for seed in try StepParams.seeds(variant, experiment: experiment.name) {
                let train = StepParams.train(trainSections, seed: seed)
                let trainName = "train[\(variant.name), seed \(seed)]"
                let trainKey = builder.add(.train, name: trainName, params: train.params, paramsText: train.text,
                                           inputs: ["data": data.clean, "split": data.split],
                                           variant: variant.name, seed: seed, work: trainWork)
                let evaluateName = "evaluate[\(variant.name), seed \(seed)]"
                let evaluateKey = builder.add(.evaluate, name: evaluateName, params: evaluateParams.value, paramsText: evaluateParams.text,
                                              inputs: ["model": trainKey, "data": data.clean, "split": data.split],
                                              variant: variant.name, seed: seed, work: evaluateWork)
                reportInputs[trainName] = trainKey
                reportInputs[evaluateName] = evaluateKey
                if seedsSeen.insert(seed).inserted { seedsInOrder.append(.number(Double(seed))) }
            }
            variantNames.append(.string(variant.name))
            for metric in StepParams.metrics(variant) where metricsSeen.insert(metric).inserted { metrics.append(metric) }
        }
        let reportParams = JSONValue.object(["variants": .array(variantNames), "seeds": .array(seedsInOrder), "metrics": .array(metrics)])
        _ = builder.add(.report, name: "report", params: reportParams, inputs: reportInputs, variant: nil, seed: nil,
                        work: Workload(units: 1, unit: "report", guessSecondsPerUnit: CostModel.reportSeconds))
        var steps = builder.finishedSteps()
        let trainCores = cores.trainCores(among: steps.filter { $0.kind == .train }.count)
        for i in steps.indices where steps[i].kind == .train { steps[i].cores = trainCores }
        return ExperimentGraph(experiment: experiment.name, steps: steps)
    }
}

/// Sizes the estimates of the downstream steps need.
struct DataCounts {
    var phantoms: Double
    var size: Int
    var ratios: (train: Double, val: Double, test: Double)

    func trainWorkload(_ v: VariantInput) -> Workload {
        let epochs = v.value(at: "training.epochs").flatMap(\.numberValue) ?? 50
        let channels = Int(v.value(at: "model.base_channels").flatMap(\.numberValue) ?? 16)
        let nTrain = phantoms * ratios.train, nVal = phantoms * ratios.val
        let forward = CostModel.forwardFLOPs(size: size, baseChannels: channels)
        // Per training sample-epoch: forward + backward, plus its share of the validation passes.
        let perUnit = CostModel.trainingPassFactor * forward + (nTrain > 0 ? forward * nVal / nTrain : 0)
        return Workload(units: epochs * nTrain, unit: "sample-epoch@\(size)^3/\(channels)ch", flopsPerUnit: perUnit)
    }

    func evaluateWorkload(_ v: VariantInput) -> Workload {
        let channels = Int(v.value(at: "model.base_channels").flatMap(\.numberValue) ?? 16)
        return Workload(units: phantoms * ratios.test, unit: "sample@\(size)^3/\(channels)ch",
                        flopsPerUnit: CostModel.forwardFLOPs(size: size, baseChannels: channels))
    }
}

extension JSONValue {
    var numberValue: Double? { if case .number(let d) = self { return d }; return nil }
}

/// Accumulates steps, deduplicating by key, and names the data steps at the end.
struct Builder {
    let experiment: String
    let cores: CoreBudget
    private var steps: [GraphStep] = []
    private var index: [String: Int] = [:]
    /// First variant that used each data step, for names when a kind has several steps.
    private var firstVariant: [String: String] = [:]

    init(experiment: String, cores: CoreBudget) {
        self.experiment = experiment; self.cores = cores
    }

    struct DataKeys { var clean: String; var split: String; var counts: DataCounts }

    /// Data keys by the canonical text of the `data` section: variants with equal data
    /// configurations (the usual case) compute them once.
    private var dataMemo: [String: DataKeys] = [:]

    mutating func dataSteps(_ v: VariantInput, directories: [String: DirectoryFingerprint]) throws -> DataKeys {
        if let text = v.sections["data"]?.text, let known = dataMemo[text] { return known }
        let keys = try computeDataSteps(v, directories: directories)
        if let text = v.sections["data"]?.text { dataMemo[text] = keys }
        return keys
    }

    private mutating func computeDataSteps(_ v: VariantInput, directories: [String: DirectoryFingerprint]) throws -> DataKeys {
        let sourceKey: String
        var counts: DataCounts
        switch try StepParams.source(v, experiment: experiment) {
        case .synthetic(let synthetic):
            let count = synthetic[path: "count"]?.numberValue ?? 0
            let size = Int(synthetic[path: "size"]?.numberValue ?? 64)
            counts = DataCounts(phantoms: count, size: size, ratios: (0.8, 0.1, 0.1))
            sourceKey = add(.generate, name: "generate", params: StepParams.generate(synthetic), inputs: [:], variant: v.name, seed: nil,
                            work: Workload(units: count, unit: "phantom@\(size)^3",
                                           guessSecondsPerUnit: CostModel.generateSecondsPerPhantom64 * CostModel.voxelScale(size)))
        case .hdf5(let dir):
            guard let fingerprint = directories[dir] else { throw PlannerError.unlistedDirectory(experiment: experiment, dir: dir) }
            let files = Double(fingerprint.phantomFiles)
            counts = DataCounts(phantoms: files, size: 64, ratios: (0.8, 0.1, 0.1))
            sourceKey = add(.ingest, name: "ingest", params: StepParams.ingest(dir: dir, fingerprint: fingerprint), inputs: [:], variant: v.name, seed: nil,
                            work: Workload(units: files, unit: "phantom", guessSecondsPerUnit: CostModel.ingestSecondsPerFile))
        }
        let cleanKey = add(.clean, name: "clean", params: try StepParams.clean(v, experiment: experiment), inputs: ["data": sourceKey],
                           variant: v.name, seed: nil,
                           work: Workload(units: counts.phantoms, unit: "phantom@\(counts.size)^3",
                                          guessSecondsPerUnit: CostModel.cleanSecondsPerPhantom64 * CostModel.voxelScale(counts.size)))
        let splitParams = try StepParams.split(v, experiment: experiment)
        if case .object(let r)? = splitParams[path: "ratios"] {
            let train = r["train"]?.numberValue ?? 0.8, val = r["val"]?.numberValue ?? 0.1, test = r["test"]?.numberValue ?? 0.1
            counts.ratios = (train, val, test)
        }
        let splitKey = add(.split, name: "split", params: splitParams, inputs: ["data": cleanKey], variant: v.name, seed: nil,
                           work: Workload(units: counts.phantoms, unit: "phantom",
                                          guessSecondsPerUnit: CostModel.splitSecondsPerPhantom))
        return DataKeys(clean: cleanKey, split: splitKey, counts: counts)
    }

    /// Adds a step unless one with the same key exists; returns the key. `paramsText` is the
    /// params' canonical text when the caller has it.
    mutating func add(_ kind: PlanStepKind, name: String, params: JSONValue, paramsText: String? = nil, inputs: [String: String],
                      variant: String?, seed: Int?, work: Workload) -> String {
        let key = ContentKey.compute(kind: kind, paramsText: paramsText ?? params.canonicalText, inputs: inputs)
        if index[key] != nil { return key }
        index[key] = steps.count
        let isData = kind < .train
        if isData { firstVariant[key] = variant }
        steps.append(GraphStep(key: key, kind: kind, name: name, params: params, inputs: inputs, cores: cores.cores(for: kind),
                               variant: isData ? nil : variant, seed: seed, work: work))
        return key
    }

    /// Data kinds with one step keep the bare kind as name; with several, each is named after
    /// the first variant that uses it (`split[lr=1e-4]`), which keeps names unique and stable.
    func finishedSteps() -> [GraphStep] {
        var perKind: [PlanStepKind: Int] = [:]
        for step in steps where step.kind < .train { perKind[step.kind, default: 0] += 1 }
        return steps.map { step in
            guard step.kind < .train, perKind[step.kind, default: 0] > 1, let first = firstVariant[step.key] else { return step }
            var named = step
            named.name = "\(step.kind.rawValue)[\(first)]"
            return named
        }
    }
}
