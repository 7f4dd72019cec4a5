import Foundation

/// A file the loader read (the experiment file and every file it `extends`), byte for byte, so a
/// saved plan can detect that the files changed since (the planner hashes `contents`).
public struct SourceFile: Codable, Hashable, Sendable {
    /// The path as the loader opened it (relative paths stay relative to the working directory).
    public var path: String
    public var contents: Data

    public init(path: String, contents: Data) {
        self.path = path
        self.contents = contents
    }
}

/// The result of loading one experiment file.
public struct LoadedExperiment: Hashable, Sendable {
    /// The experiment without any variant overrides (the `baseline`).
    public var experiment: Experiment
    /// At least one: `baseline` when the file has no matrix, ablate or variants.
    public var variants: [Variant]
    /// The files read, the named file first, then the files it extends in order.
    public var sources: [SourceFile]

    public init(experiment: Experiment, variants: [Variant], sources: [SourceFile]) {
        self.experiment = experiment
        self.variants = variants
        self.sources = sources
    }
}
