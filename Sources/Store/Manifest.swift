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
    /// Source commit the runner was built from, when known.
    public var runnerCommit: String?
    public var host: HostDescription
    public var history: [EpochRecord]
    /// Final metrics by name (e.g. `test.rmse`, `test.ssim`, `test.rmse_mua`).
    public var finalMetrics: [String: Double]
    /// Checkpoint path (relative to the store root or the output tree) and its SHA-256.
    public var checkpointPath: String?
    public var checkpointSHA256: String?
    public var gates: [GateResult]
    public var started: Date
    public var finished: Date?

    public static let currentSchema = 1

    public init(runID: String, experiment: String, variant: String, stepKey: String? = nil, config: JSONValue,
                inputKeys: [String: String], datasetFingerprint: String, splitFingerprint: String, seed: Int,
                runnerVersion: String, runnerCommit: String? = nil, host: HostDescription, history: [EpochRecord] = [],
                finalMetrics: [String: Double] = [:], checkpointPath: String? = nil, checkpointSHA256: String? = nil,
                gates: [GateResult] = [], started: Date, finished: Date? = nil) {
        self.schema = Manifest.currentSchema
        self.runID = runID; self.experiment = experiment; self.variant = variant; self.stepKey = stepKey
        self.config = config; self.inputKeys = inputKeys
        self.datasetFingerprint = datasetFingerprint; self.splitFingerprint = splitFingerprint; self.seed = seed
        self.runnerVersion = runnerVersion; self.runnerCommit = runnerCommit; self.host = host
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

/// One gate (`test.rmse < 0.083`) and whether the run passed it.
public struct GateResult: Codable, Hashable, Sendable {
    public var metric: String
    /// The comparison as written, e.g. "<", "<=", ">", ">=".
    public var comparison: String
    public var threshold: Double
    public var value: Double?
    public var passed: Bool

    public init(metric: String, comparison: String, threshold: Double, value: Double?, passed: Bool) {
        self.metric = metric; self.comparison = comparison; self.threshold = threshold; self.value = value; self.passed = passed
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
