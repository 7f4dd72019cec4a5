import Store

/// Everything planning reads besides the store, as plain values: the experiments (each variant's
/// fully resolved configuration as a JSON tree with the YAML key names), the bytes' digests of
/// the source files, and fingerprints of the data directories that `hdf5` sources point at.
/// `PlanInputs.load(paths:)` gathers them from disk; `Planner.plan` is a pure function of them.
public struct PlanInputs: Sendable, Hashable {
    public var experiments: [ExperimentInput]
    /// Every file the experiments were read from (`extends` included), in reading order.
    public var sources: [SourceDigest]
    /// Data directory (as written in the spec, after the loader resolved it) → listing fingerprint.
    public var directories: [String: DirectoryFingerprint]

    public init(experiments: [ExperimentInput], sources: [SourceDigest], directories: [String: DirectoryFingerprint] = [:]) {
        self.experiments = experiments; self.sources = sources; self.directories = directories
    }
}

/// One experiment as the planner sees it.
public struct ExperimentInput: Sendable, Hashable {
    public var name: String
    public var variants: [VariantInput]

    public init(name: String, variants: [VariantInput]) {
        self.name = name; self.variants = variants
    }
}

/// One variant: its name, the dotted-key overrides that made it, and the resolved experiment
/// (the JSON encoding of `Spec.Experiment`, snake_case keys).
public struct VariantInput: Sendable, Hashable {
    public var name: String
    public var overrides: JSONValue
    public var config: JSONValue

    public init(name: String, overrides: JSONValue = .object([:]), config: JSONValue) {
        self.name = name; self.overrides = overrides; self.config = config
    }
}

/// A file the plan was made from, with the SHA-256 of its bytes.
public struct SourceDigest: Codable, Sendable, Hashable {
    public var path: String
    public var sha256: String

    public init(path: String, sha256: String) {
        self.path = path; self.sha256 = sha256
    }
}

/// What an ingest key knows of a data directory: a SHA-256 over its listing (relative paths,
/// sizes, modification times, sorted) and the number of phantom files, used for estimates.
public struct DirectoryFingerprint: Codable, Sendable, Hashable {
    public var sha256: String
    public var phantomFiles: Int

    public init(sha256: String, phantomFiles: Int) {
        self.sha256 = sha256; self.phantomFiles = phantomFiles
    }
}
