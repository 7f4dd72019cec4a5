import Store

/// Everything planning reads besides the store, as plain values: the experiments (each variant's
/// fully resolved configuration as a JSON tree with the YAML key names), the bytes' digests of
/// the source files, and fingerprints of the data directories that `hdf5` sources point at.
/// `PlanInputs.load(paths:)` gathers them from disk; `Planner.plan` is a pure function of them.
public struct PlanInputs: Sendable, Hashable {
    public var experiments: [ExperimentInput]
    /// The experiment files named on the command line, in order (what `load(paths:)` re-reads).
    public var files: [String]
    /// Every file the experiments were read from (`extends` included), in reading order.
    public var sources: [SourceDigest]
    /// Data directory (as written in the spec, after the loader resolved it) → listing fingerprint.
    public var directories: [String: DirectoryFingerprint]

    public init(experiments: [ExperimentInput], files: [String], sources: [SourceDigest], directories: [String: DirectoryFingerprint] = [:]) {
        self.experiments = experiments; self.files = files; self.sources = sources; self.directories = directories
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

/// One variant: its name, the dotted-key overrides that made it, and the top-level sections of
/// the resolved experiment (the JSON encoding of `Spec.Experiment`'s `data`, `model`, `loss`,
/// `optimizer`, `schedule`, `training`, `evaluate`, `seeds`; YAML key names), each with its
/// canonical text computed once — variants share equal sections, so keys are composed from
/// these texts instead of re-encoding every step's parameters.
public struct VariantInput: Sendable, Hashable {
    public var name: String
    public var overrides: JSONValue
    public var sections: [String: CanonicalJSON]

    public init(name: String, overrides: JSONValue = .object([:]), sections: [String: CanonicalJSON]) {
        self.name = name; self.overrides = overrides; self.sections = sections
    }

    /// Splits a whole resolved experiment tree into its top-level sections.
    public init(name: String, overrides: JSONValue = .object([:]), config: JSONValue) {
        var sections: [String: CanonicalJSON] = [:]
        if case .object(let fields) = config { for (key, value) in fields { sections[key] = CanonicalJSON(value) } }
        self.init(name: name, overrides: overrides, sections: sections)
    }

    /// The value at a dotted path (`data.split.seed`), if present.
    public func value(at path: String) -> JSONValue? {
        let parts = path.split(separator: ".", maxSplits: 1)
        guard let first = parts.first, let head = sections[String(first)] else { return nil }
        return parts.count == 1 ? head.value : head.value[path: String(parts[1])]
    }
}

/// A JSON value with its canonical text (`JSONValue.canonicalText`), computed once.
public struct CanonicalJSON: Sendable, Hashable {
    public let value: JSONValue
    public let text: String

    public init(_ value: JSONValue) {
        self.value = value
        self.text = value.canonicalText
    }

    public static func == (a: CanonicalJSON, b: CanonicalJSON) -> Bool { a.text == b.text }
    public func hash(into hasher: inout Hasher) { hasher.combine(text) }
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
