import Foundation
import Store

/// A plan as data: what would run, what is cached, and why. Printed by views, saved with
/// `runner plan -o plan.json`, and applied exactly by `runner apply plan.json` unless stale.
public struct Plan: Codable, Sendable, Hashable {
    /// Version of this JSON format; `Plan.decode` refuses others.
    public static let currentFormat = 1

    public var format: Int
    /// `ContentKey.keySchema` the keys were computed with.
    public var keySchema: Int
    public var experiments: [String]
    /// The experiment files the plan was made from, as named on the command line; `apply`
    /// re-reads them (`PlanInputs.load(paths:)`) to check that the plan is not stale.
    public var experimentFiles: [String]
    /// Every file read (extended files included) with the SHA-256 of its bytes.
    public var sources: [SourceDigest]
    /// Fingerprints of the data directories `hdf5` sources read.
    public var dataDirectories: [String: DirectoryFingerprint]
    /// SHA-256 over what the plan read from the store (which of its keys are cached, the last key
    /// under each of its names); any change to those makes a saved plan stale.
    public var storeFingerprint: String
    public var cores: CoreBudget
    /// Host whose recorded throughput priced the estimates.
    public var host: String
    /// Topological order: every step comes after the steps it reads.
    public var steps: [PlannedStep]
    public var summary: PlanSummary

    public init(experiments: [String], experimentFiles: [String], sources: [SourceDigest], dataDirectories: [String: DirectoryFingerprint],
                storeFingerprint: String, cores: CoreBudget, host: String, steps: [PlannedStep]) {
        self.format = Plan.currentFormat
        self.keySchema = ContentKey.keySchema
        self.experiments = experiments; self.experimentFiles = experimentFiles; self.sources = sources; self.dataDirectories = dataDirectories
        self.storeFingerprint = storeFingerprint; self.cores = cores; self.host = host; self.steps = steps
        self.summary = PlanSummary(steps)
    }

    enum CodingKeys: String, CodingKey {
        case format, keySchema = "key_schema", experiments, experimentFiles = "experiment_files", sources, dataDirectories = "data_directories"
        case storeFingerprint = "store_fingerprint", cores, host, steps, summary
    }

    /// Steps to run, in topological order.
    public var stepsToRun: [PlannedStep] { steps.filter { $0.action == .run } }

    /// The JSON text of the plan (sorted keys, pretty-printed).
    public func jsonText() throws -> String {
        try JSONValue(encoding: self).prettyText
    }

    /// Reads a saved plan, refusing formats this runner does not know.
    public static func decode(jsonData data: Data) throws -> Plan {
        let tree = try JSONValue(jsonData: data)
        let format = tree[path: "format"]?.numberValue.map(Int.init) ?? -1
        guard format == currentFormat else { throw PlannerError.unsupportedPlanFormat(found: format, supported: currentFormat) }
        return try tree.decode(Plan.self)
    }
}

/// Whether a planned step runs.
public enum PlanStepAction: String, Codable, Sendable { case run, cached }

/// new: never recorded under its name (or its earlier attempt did not finish);
/// changed: the name's last recorded step had another key (`why` says how);
/// cached: a succeeded record of this key exists.
public enum PlanStepStatus: String, Codable, Sendable, CaseIterable { case new, changed, cached }

/// One step of a plan, with everything `runner step` needs to run it.
public struct PlannedStep: Codable, Sendable, Hashable {
    public var key: String
    public var kind: PlanStepKind
    public var experiment: String
    public var name: String
    /// The same step (same key) in other experiments of the plan.
    public var alsoNamed: [StepName]
    public var params: JSONValue
    public var inputs: [String: String]
    public var cores: Int
    public var variant: String?
    public var seed: Int?
    public var status: PlanStepStatus
    public var why: [StepChange]
    public var work: Workload
    public var estimate: Estimate

    public var action: PlanStepAction { status == .cached ? .cached : .run }
    /// First 10 hex digits of the key, as views show it.
    public var shortKey: String { String(key.prefix(10)) }

    public init(step: GraphStep, experiment: String, status: PlanStepStatus, why: [StepChange], estimate: Estimate) {
        key = step.key; kind = step.kind; self.experiment = experiment; name = step.name; alsoNamed = []
        params = step.params; inputs = step.inputs; cores = step.cores; variant = step.variant; seed = step.seed
        self.status = status; self.why = why; work = step.work; self.estimate = estimate
    }

    enum CodingKeys: String, CodingKey {
        case key, kind, experiment, name, alsoNamed = "also_named", params, inputs, cores, variant, seed
        case action, status, why, work, estimate
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        key = try c.decode(String.self, forKey: .key)
        kind = try c.decode(PlanStepKind.self, forKey: .kind)
        experiment = try c.decode(String.self, forKey: .experiment)
        name = try c.decode(String.self, forKey: .name)
        alsoNamed = try c.decodeIfPresent([StepName].self, forKey: .alsoNamed) ?? []
        params = try c.decode(JSONValue.self, forKey: .params)
        inputs = try c.decode([String: String].self, forKey: .inputs)
        cores = try c.decode(Int.self, forKey: .cores)
        variant = try c.decodeIfPresent(String.self, forKey: .variant)
        seed = try c.decodeIfPresent(Int.self, forKey: .seed)
        status = try c.decode(PlanStepStatus.self, forKey: .status)
        why = try c.decode([StepChange].self, forKey: .why)
        work = try c.decode(Workload.self, forKey: .work)
        estimate = try c.decode(Estimate.self, forKey: .estimate)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(key, forKey: .key); try c.encode(kind, forKey: .kind)
        try c.encode(experiment, forKey: .experiment); try c.encode(name, forKey: .name)
        if !alsoNamed.isEmpty { try c.encode(alsoNamed, forKey: .alsoNamed) }
        try c.encode(params, forKey: .params); try c.encode(inputs, forKey: .inputs); try c.encode(cores, forKey: .cores)
        try c.encodeIfPresent(variant, forKey: .variant); try c.encodeIfPresent(seed, forKey: .seed)
        try c.encode(action, forKey: .action); try c.encode(status, forKey: .status); try c.encode(why, forKey: .why)
        try c.encode(work, forKey: .work); try c.encode(estimate, forKey: .estimate)
    }
}

/// An (experiment, step name) pair under which `apply` records a step.
public struct StepName: Codable, Sendable, Hashable {
    public var experiment: String
    public var name: String
    public init(experiment: String, name: String) { self.experiment = experiment; self.name = name }
}

/// Why a step is `changed` (or `new` after an unfinished attempt), one entry per difference.
public enum StepChange: Sendable, Hashable, CustomStringConvertible {
    /// A parameter differs from the last step recorded under the same name; `nil` = absent.
    case parameter(path: String, old: JSONValue?, new: JSONValue?)
    /// An input role points at another step's output (or appeared / disappeared).
    case input(role: String, old: String?, new: String?)
    /// Same params and inputs, other key: the kind's code version or the key schema changed.
    case codeVersion
    /// The last step recorded under the name is no longer in the store (collected by gc).
    case previousRecordMissing(key: String)
    /// A step with this key was started before and did not succeed.
    case unfinished

    public var description: String {
        switch self {
        case let .parameter(path, old, new):
            return "\(path.isEmpty ? "params" : path): \(StepChange.render(old)) → \(StepChange.render(new))"
        case let .input(role, old, new):
            return "input \(role) changed: \(old.map { String($0.prefix(10)) } ?? "none") → \(new.map { String($0.prefix(10)) } ?? "none")"
        case .codeVersion:
            return "code version of the step changed"
        case let .previousRecordMissing(key):
            return "last recorded step \(key.prefix(10)) is no longer in the store"
        case .unfinished:
            return "an earlier attempt did not finish"
        }
    }

    static func render(_ value: JSONValue?) -> String {
        guard let value else { return "(absent)" }
        if case .string(let s) = value { return s }
        return value.canonicalText
    }
}

extension StepChange: Codable {
    enum CodingKeys: String, CodingKey { case kind, path, role, old, new, key, text }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "parameter":
            self = .parameter(path: try c.decode(String.self, forKey: .path),
                              old: try c.decodeIfPresent(JSONValue.self, forKey: .old),
                              new: try c.decodeIfPresent(JSONValue.self, forKey: .new))
        case "input":
            self = .input(role: try c.decode(String.self, forKey: .role),
                          old: try c.decodeIfPresent(String.self, forKey: .old),
                          new: try c.decodeIfPresent(String.self, forKey: .new))
        case "code_version": self = .codeVersion
        case "previous_record_missing": self = .previousRecordMissing(key: try c.decode(String.self, forKey: .key))
        case "unfinished": self = .unfinished
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown change kind \(other)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .parameter(path, old, new):
            try c.encode("parameter", forKey: .kind); try c.encode(path, forKey: .path)
            try c.encodeIfPresent(old, forKey: .old); try c.encodeIfPresent(new, forKey: .new)
        case let .input(role, old, new):
            try c.encode("input", forKey: .kind); try c.encode(role, forKey: .role)
            try c.encodeIfPresent(old, forKey: .old); try c.encodeIfPresent(new, forKey: .new)
        case .codeVersion: try c.encode("code_version", forKey: .kind)
        case let .previousRecordMissing(key): try c.encode("previous_record_missing", forKey: .kind); try c.encode(key, forKey: .key)
        case .unfinished: try c.encode("unfinished", forKey: .kind)
        }
        try c.encode(description, forKey: .text)
    }
}

/// Counts per action, status and kind, and the estimated CPU time of the steps to run.
public struct PlanSummary: Codable, Sendable, Hashable {
    public var total: Int
    public var run: Int
    public var cached: Int
    public var byStatus: [String: Int]
    /// kind → status → count.
    public var byKind: [String: [String: Int]]
    /// Estimated CPU seconds (wall seconds × cores) of the steps to run.
    public var estimatedCPUSeconds: Double
    /// True when any part of the estimate is a guess rather than recorded throughput.
    public var estimateIsGuess: Bool

    public init(_ steps: [PlannedStep]) {
        total = steps.count
        run = steps.filter { $0.action == .run }.count
        cached = total - run
        var status: [String: Int] = [:], kinds: [String: [String: Int]] = [:]
        var seconds = 0.0, guess = false
        for step in steps {
            status[step.status.rawValue, default: 0] += 1
            kinds[step.kind.rawValue, default: [:]][step.status.rawValue, default: 0] += 1
            if step.action == .run {
                seconds += step.estimate.cpuSeconds
                if step.estimate.basis == .guess { guess = true }
            }
        }
        byStatus = status; byKind = kinds; estimatedCPUSeconds = seconds; estimateIsGuess = guess
    }

    enum CodingKeys: String, CodingKey {
        case total, run, cached, byStatus = "by_status", byKind = "by_kind"
        case estimatedCPUSeconds = "estimated_cpu_seconds", estimateIsGuess = "estimate_is_guess"
    }
}
