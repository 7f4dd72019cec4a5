import Foundation
import Store

/// The kinds of steps in an experiment graph. Raw values appear in content keys,
/// step records and the CLI (`runner step KEY` dispatches on them).
public enum StepKind: String, Codable, CaseIterable, Sendable {
    case generate, ingest, clean, split, train, evaluate, report
}

/// Everything needed to run one step, written to the store before the step starts,
/// so the same request runs locally or as a Slurm job through `runner step KEY`.
public struct StepRequest: Codable, Hashable, Sendable {
    /// Content key (SHA-256 hex) of the step.
    public var key: String
    public var kind: StepKind
    /// Human name, unique within an experiment, e.g. `train[attention, seed 28]`.
    public var name: String
    /// Fully resolved parameters; exactly what the content key hashed.
    public var params: JSONValue
    /// Input role (e.g. `data`, `split`, `model`) → content key of the producing step.
    public var inputs: [String: String]
    /// Cores the step asks the scheduler for.
    public var cores: Int

    public init(key: String, kind: StepKind, name: String, params: JSONValue, inputs: [String: String], cores: Int) {
        self.key = key; self.kind = kind; self.name = name; self.params = params; self.inputs = inputs; self.cores = cores
    }
}

/// Progress a step reports while it runs; the executor forwards it, views print it.
public struct StepProgress: Codable, Sendable {
    public var done: Int
    public var total: Int
    public var message: String
    public init(done: Int, total: Int, message: String = "") { self.done = done; self.total = total; self.message = message }
}

/// What a running step may touch. Steps never look up the store themselves.
public struct StepContext {
    /// Outputs of the input steps, by role.
    public let inputs: [String: ArtifactTree]
    /// Absolute path of a (hash-verified) object, for reading an input file.
    public let objectPath: (String) throws -> URL
    /// Empty directory the step writes its output files into; the runner stores
    /// every file found here when the step returns.
    public let outputDirectory: URL
    /// Directory that survives a crash of this step (checkpoints live here), keyed by the step.
    public let scratchDirectory: URL
    /// Threads the step may use (its core budget).
    public let threads: Int
    public let progress: (StepProgress) -> Void
    /// True once the step has been asked to stop (SIGINT/SIGTERM); a step checks it between units of work.
    public let isCancelled: () -> Bool

    public init(inputs: [String: ArtifactTree], objectPath: @escaping (String) throws -> URL, outputDirectory: URL,
                scratchDirectory: URL, threads: Int, progress: @escaping (StepProgress) -> Void, isCancelled: @escaping () -> Bool) {
        self.inputs = inputs; self.objectPath = objectPath; self.outputDirectory = outputDirectory
        self.scratchDirectory = scratchDirectory; self.threads = threads; self.progress = progress; self.isCancelled = isCancelled
    }
}

/// What a step returns besides the files it wrote into `outputDirectory`.
public struct StepResult {
    /// Shown by views and copied into the artifact tree's summary.
    public var summary: JSONValue
    /// Files the output re-uses from inputs without copying: relative path → object digest.
    public var linkedFiles: [String: String]

    public init(summary: JSONValue, linkedFiles: [String: String] = [:]) {
        self.summary = summary; self.linkedFiles = linkedFiles
    }
}

/// One step kind's behaviour. `codeVersion` is part of every content key of this
/// kind: bump it when a change to the implementation changes its output.
public protocol StepImplementation {
    static var kind: StepKind { get }
    static var codeVersion: Int { get }
    func run(_ request: StepRequest, context: StepContext) throws -> StepResult
}

/// A step failure with a message meant for the user (the phantom and the reason, the layer and the shapes…).
public struct StepError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
