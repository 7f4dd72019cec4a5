import Foundation
import Spec
import Store

extension PlanInputs {
    /// The planner's view of loaded experiment files: each variant's resolved `Experiment`
    /// encoded with its YAML key names, the SHA-256 of every source file's bytes, and
    /// `directories` for the `hdf5` sources (from `DirectoryFingerprint.read`).
    public init(loaded: [LoadedExperiment], directories: [String: DirectoryFingerprint]) throws {
        var experiments: [ExperimentInput] = []
        var sources: [SourceDigest] = []
        var encoder = SectionEncoder()
        for file in loaded {
            let variants = try file.variants.map { variant in
                VariantInput(name: variant.name,
                             overrides: .object(Dictionary(variant.overrides.map { ($0.path, JSONValue.string($0.value)) },
                                                           uniquingKeysWith: { _, last in last })),
                             sections: try encoder.sections(of: variant.experiment))
            }
            experiments.append(ExperimentInput(name: file.experiment.name, variants: variants))
            sources += file.sources.map { SourceDigest(path: $0.path, sha256: Digest.sha256($0.contents)) }
        }
        self.init(experiments: experiments, files: loaded.compactMap { $0.sources.first?.path }, sources: sources,
                  directories: directories)
    }

    /// Loads experiment files with the spec loader and gathers the rest: what `runner plan FILE…`
    /// plans, and what `runner apply plan.json` re-reads (`plan.experimentFiles`) to check
    /// staleness. Throws the loader's `SpecError` (every diagnostic) for an invalid file.
    public static func load(paths: [String]) throws -> PlanInputs {
        try gather(paths.map { try ExperimentLoader.load(path: $0) })
    }

    /// Reads what planning needs besides the experiment values: the listing of every data
    /// directory an `hdf5` source names. Reads the file system; writes nothing.
    public static func gather(_ loaded: [LoadedExperiment]) throws -> PlanInputs {
        var directories: [String: DirectoryFingerprint] = [:]
        for file in loaded {
            for variant in file.variants {
                if case .hdf5(let source) = variant.experiment.data.source, directories[source.dir] == nil {
                    directories[source.dir] = try DirectoryFingerprint.read(dir: source.dir)
                }
            }
        }
        return try PlanInputs(loaded: loaded, directories: directories)
    }
}

/// Encodes the sections of `Experiment` the planner reads, once per distinct value: the variants
/// of a matrix differ in a few sections, so a 1,000-variant matrix encodes tens of sections, not
/// thousands. `name`, `description`, `gate` and `executor` are never read (never hashed).
struct SectionEncoder {
    private var data = Memo<DataSpec>(), model = Memo<ModelSpec>(), loss = Memo<LossSpec>()
    private var optimizer = Memo<OptimizerSpec>(), schedule = Memo<ScheduleSpec>(), training = Memo<TrainingSpec>()
    private var evaluate = Memo<EvaluateSpec>(), seeds = Memo<[Int]>()

    mutating func sections(of e: Experiment) throws -> [String: CanonicalJSON] {
        [
            "data": try data.encode(e.data), "model": try model.encode(e.model), "loss": try loss.encode(e.loss),
            "optimizer": try optimizer.encode(e.optimizer), "schedule": try schedule.encode(e.schedule),
            "training": try training.encode(e.training), "evaluate": try evaluate.encode(e.evaluate),
            "seeds": try seeds.encode(e.seeds),
        ]
    }

    struct Memo<T: Hashable & Encodable> {
        private var cache: [T: CanonicalJSON] = [:]
        mutating func encode(_ value: T) throws -> CanonicalJSON {
            if let known = cache[value] { return known }
            let encoded = CanonicalJSON(try JSONValue(encoding: value))
            cache[value] = encoded
            return encoded
        }
    }
}
