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
        for file in loaded {
            let variants = try file.variants.map { variant in
                VariantInput(name: variant.name,
                             overrides: .object(Dictionary(variant.overrides.map { ($0.path, JSONValue.string($0.value)) },
                                                           uniquingKeysWith: { _, last in last })),
                             config: try JSONValue(encoding: variant.experiment))
            }
            experiments.append(ExperimentInput(name: file.experiment.name, variants: variants))
            sources += file.sources.map { SourceDigest(path: $0.path, sha256: Digest.sha256($0.contents)) }
        }
        self.init(experiments: experiments, sources: sources, directories: directories)
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
