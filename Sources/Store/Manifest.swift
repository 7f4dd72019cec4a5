import Foundation

/// `runs/<run-id>/manifest.json`: everything needed to reproduce one
/// train + evaluate run without the YAML (DESIGN.md, "Artefacts users touch").
/// The training step fills it; Store defines the format and writes it atomically.
public struct Manifest: Codable, Hashable, Sendable {
    /// Format version of this file.
    public var schema: Int
    public var runID: String
    public var experiment: String
    public var variant: String
    /// Key of the step that produced the run (gc keeps the run while that step is live).
    public var stepKey: String?
    /// The fully resolved configuration of the run.
    public var config: JSONValue
    /// Input role → content key of the producing step.
    public var inputKeys: [String: String]
    /// Content fingerprint (SHA-256) of the cleaned dataset and of the split.
    public var datasetFingerprint: String
    public var splitFingerprint: String
    public var seed: Int
    public var runnerVersion: String
    /// Source commit the runner was built from: `git rev-parse HEAD` of the runner's source
    /// directory when it is a git checkout (suffix `-dirty` with uncommitted changes), else "unknown".
    public var runnerCommit: String?
    /// `debug` or `release`: the build configuration of the runner binary (changes floating-point code).
    public var buildConfiguration: String?
    /// Whether the run trained in deterministic mode (`training.deterministic`).
    public var deterministic: Bool?
    /// Cores the train step asked for (its threads: min(cores, the apply's `--cores` budget)).
    public var trainCores: Int?
    public var host: HostDescription
    public var history: [EpochRecord]
    /// Final metrics by name (e.g. `test.rmse`, `test.ssim`, `test.rmse_mua`).
    public var finalMetrics: [String: Double]
    /// Checkpoint path (relative to the store root or the output tree) and its SHA-256.
    public var checkpointPath: String?
    public var checkpointSHA256: String?
    public var gates: [GateResult]
    /// The whole request chain of the run (generate/ingest → clean → split → train → evaluate),
    /// inputs before the steps that use them: what `runner reproduce` re-runs. Filled by the CLI
    /// from the store's step records when it publishes the manifest to `runs/`.
    public var steps: [ManifestStep]?
    public var started: Date
    public var finished: Date?

    /// 2: runnerCommit, buildConfiguration, deterministic, trainCores, steps and richer gate results.
    /// Readers accept schema 1 (the new fields are optional).
    public static let currentSchema = 2

    public init(runID: String, experiment: String, variant: String, stepKey: String? = nil, config: JSONValue,
                inputKeys: [String: String], datasetFingerprint: String, splitFingerprint: String, seed: Int,
                runnerVersion: String, runnerCommit: String? = nil, buildConfiguration: String? = nil, deterministic: Bool? = nil,
                trainCores: Int? = nil, host: HostDescription, history: [EpochRecord] = [],
                finalMetrics: [String: Double] = [:], checkpointPath: String? = nil, checkpointSHA256: String? = nil,
                gates: [GateResult] = [], steps: [ManifestStep]? = nil, started: Date, finished: Date? = nil) {
        self.schema = Manifest.currentSchema
        self.runID = runID; self.experiment = experiment; self.variant = variant; self.stepKey = stepKey
        self.config = config; self.inputKeys = inputKeys
        self.datasetFingerprint = datasetFingerprint; self.splitFingerprint = splitFingerprint; self.seed = seed
        self.runnerVersion = runnerVersion; self.runnerCommit = runnerCommit; self.host = host
        self.buildConfiguration = buildConfiguration; self.deterministic = deterministic; self.trainCores = trainCores; self.steps = steps
        self.history = history; self.finalMetrics = finalMetrics
        self.checkpointPath = checkpointPath; self.checkpointSHA256 = checkpointSHA256
        self.gates = gates; self.started = StoreTime.normalized(started); self.finished = finished.map(StoreTime.normalized)
    }

    /// Writes the manifest atomically (temp file, fsync, rename, fsync of the directory).
    public func write(to url: URL) throws { try StoreJSON.write(self, to: url) }

    /// Reads a manifest; a missing or malformed file is a typed error naming it.
    public static func read(from url: URL) throws -> Manifest {
        guard let manifest = try StoreJSON.read(Manifest.self, at: url) else {
            throw StoreError.unreadable(path: url.path, reason: "no such file")
        }
        return manifest
    }

    /// The evaluated split (`config.evaluate.split`, default `test`): final metrics are named `<split>.<metric>`.
    public var evaluatedSplit: String {
        if case .string(let s)? = config[path: "evaluate"]?[path: "split"] { return s }
        return "test"
    }

    /// A final metric by its full name (`test.rmse`) or by the evaluate section's name (`rmse`).
    public func metric(_ name: String) -> Double? {
        finalMetrics[name] ?? finalMetrics["\(evaluatedSplit).\(name)"]
    }
}

/// One step of a run's request chain: exactly what its content key hashed, and the code version of
/// its kind when it ran, so the key can be recomputed and the step re-run from the manifest alone.
public struct ManifestStep: Codable, Hashable, Sendable {
    public var key: String
    public var kind: String
    public var name: String
    public var version: Int
    public var params: JSONValue
    /// Input role → key of an earlier step of the chain.
    public var inputs: [String: String]
    public var cores: Int

    public init(key: String, kind: String, name: String, version: Int, params: JSONValue, inputs: [String: String], cores: Int) {
        self.key = key; self.kind = kind; self.name = name; self.version = version; self.params = params; self.inputs = inputs; self.cores = cores
    }
}

extension StoreReader {
    /// The request chain that produced step `key`, from the step records of this store, inputs first.
    /// `versions` maps a kind to the code version its keys were computed with.
    /// - Throws: `StoreError.unreadable` when a step of the chain has no succeeded record.
    public func requestChain(of key: String, versions: [String: Int]) throws -> [ManifestStep] {
        var out: [ManifestStep] = []
        var seen = Set<String>()
        func visit(_ key: String) throws {
            guard seen.insert(key).inserted else { return }
            guard let record = try record(key), record.status == .succeeded else {
                throw StoreError.unreadable(path: "steps/\(key)/record.json", reason: "no succeeded record of a step the run depends on")
            }
            for input in record.request.inputs.keys.sorted() { try visit(record.request.inputs[input]!) }
            let r = record.request
            out.append(ManifestStep(key: r.key, kind: r.kind, name: r.name, version: versions[r.kind] ?? 0,
                                    params: r.params, inputs: r.inputs, cores: r.cores))
        }
        try visit(key)
        return out
    }
}

/// The machine a run used, as far as it can change the numbers or the speed.
public struct HostDescription: Codable, Hashable, Sendable {
    public var hostname: String
    public var cpuModel: String
    public var cores: Int
    /// Instruction-set flags that matter for the kernels (avx2, avx512f, fma…).
    public var instructionSets: [String]
    public var blas: BLASDescription
    /// Threads the run was given.
    public var threads: Int
    public var operatingSystem: String

    public init(hostname: String, cpuModel: String, cores: Int, instructionSets: [String], blas: BLASDescription,
                threads: Int, operatingSystem: String) {
        self.hostname = hostname; self.cpuModel = cpuModel; self.cores = cores; self.instructionSets = instructionSets
        self.blas = blas; self.threads = threads; self.operatingSystem = operatingSystem
    }
}

public struct BLASDescription: Codable, Hashable, Sendable {
    /// e.g. "OpenBLAS".
    public var name: String
    public var version: String
    /// The kernel family in use (OpenBLAS core type, e.g. "SkylakeX").
    public var coreType: String
    public var threads: Int

    public init(name: String, version: String, coreType: String, threads: Int) {
        self.name = name; self.version = version; self.coreType = coreType; self.threads = threads
    }
}

/// One epoch of training as recorded.
public struct EpochRecord: Codable, Hashable, Sendable {
    public var epoch: Int
    public var trainLoss: Double
    public var validationLoss: Double?
    public var learningRate: Double
    /// Other per-epoch metrics by name (e.g. `val.rmse`).
    public var metrics: [String: Double]
    public var seconds: Double

    public init(epoch: Int, trainLoss: Double, validationLoss: Double? = nil, learningRate: Double,
                metrics: [String: Double] = [:], seconds: Double) {
        self.epoch = epoch; self.trainLoss = trainLoss; self.validationLoss = validationLoss
        self.learningRate = learningRate; self.metrics = metrics; self.seconds = seconds
    }
}

/// One gate (`test.rmse <= 0.083`) and whether the run's variant passed it. Gates judge the
/// variant's mean over its seeds, so every run of a variant records the same results.
public struct GateResult: Codable, Hashable, Sendable {
    public var metric: String
    /// The comparison, e.g. "<=", ">=".
    public var comparison: String
    /// The limit the value was compared with (NaN-free: a rule without a limit records 0 and fails).
    public var threshold: Double
    /// The variant's mean over seeds.
    public var value: Double?
    public var passed: Bool
    /// The rule as shown, e.g. `max 0.083` or `max_regression 2% of baseline 0.1 (limit 0.102)`.
    public var rule: String?
    /// Half-width of the 95% confidence interval of the mean (0 with one seed) and the seed count.
    public var ciHalfWidth: Double?
    public var seeds: Int?
    public var variant: String?

    public init(metric: String, comparison: String, threshold: Double, value: Double?, passed: Bool,
                rule: String? = nil, ciHalfWidth: Double? = nil, seeds: Int? = nil, variant: String? = nil) {
        self.metric = metric; self.comparison = comparison; self.threshold = threshold; self.value = value; self.passed = passed
        self.rule = rule; self.ciHalfWidth = ciHalfWidth; self.seeds = seeds; self.variant = variant
    }
}

extension HostDescription {
    /// Instruction-set flags worth recording for the numeric kernels.
    public static let relevantFlags: Set<String> = [
        "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
        "avx512cd", "avx512_vnni", "avx512_bf16", "amx_tile", "asimd", "sve",
    ]

    /// Describes this machine from `/proc/cpuinfo` and `/etc/os-release` (fields it cannot
    /// read are "unknown"); the BLAS description and thread count come from the caller.
    public static func detect(threads: Int, blas: BLASDescription,
                              cpuinfo: String? = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
                              osRelease: String? = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) -> HostDescription {
        var model = "unknown"
        var flags: [String] = []
        for line in (cpuinfo ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            if model == "unknown", parts[0] == "model name" || parts[0] == "Model" { model = parts[1] }
            if flags.isEmpty, parts[0] == "flags" || parts[0] == "Features" {
                flags = parts[1].split(separator: " ").map(String.init).filter { relevantFlags.contains($0) }.sorted()
            }
        }
        var os = "unknown"
        for line in (osRelease ?? "").split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
            os = String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return HostDescription(hostname: HostIdentity.current.name, cpuModel: model,
                               cores: ProcessInfo.processInfo.activeProcessorCount, instructionSets: flags,
                               blas: blas, threads: threads, operatingSystem: os)
    }
}
