import Foundation
import Phantoms
import Spec
import Store

/// Decoding a data step's parameters (JSON made by the planner from Spec's typed sections) and
/// mapping them onto Phantoms' types, which know nothing of Spec.
enum DataParams {
    static func decode<T: Decodable>(_ type: T.Type, _ params: JSONValue, step: StepKind) throws -> T {
        do {
            return try params.decode(T.self)
        } catch {
            throw StepError("\(step.rawValue): parameters \(params.canonicalText) are not a valid \(T.self): \(error)")
        }
    }

    /// `{count, size, seed}` (the planner's form), also accepted wrapped as `{synthetic: {…}}`.
    static func synthetic(_ params: JSONValue) throws -> SyntheticSource {
        let inner = params[path: "synthetic"] ?? params
        let source = try decode(SyntheticSource.self, inner, step: .generate)
        guard source.count >= 0 else { throw StepError("generate: count must be ≥ 0 (got \(source.count))") }
        guard source.size > 0 else { throw StepError("generate: size must be > 0 (got \(source.size))") }
        return source
    }

    static func generator(_ source: SyntheticSource) -> PhantomGenerator {
        PhantomGenerator(size: source.size, seed: UInt64(bitPattern: Int64(source.seed)))
    }

    static func cleaningRules(_ spec: CleanSpec) throws -> CleaningRules {
        for (name, interval) in [("tissue_coverage", spec.tissueCoverage), ("mua_range", spec.muaRange), ("musp_range", spec.muspRange)]
        where !(interval.lo <= interval.hi) {
            throw StepError("clean: \(name) [\(interval.lo), \(interval.hi)] is empty")
        }
        return CleaningRules(muaRange: spec.muaRange.lo...spec.muaRange.hi, muspRange: spec.muspRange.lo...spec.muspRange.hi,
                             tissueCoverage: spec.tissueCoverage.lo...spec.tissueCoverage.hi,
                             requireFinite: spec.requireFinite, checkLabels: spec.checkLabels, dropDuplicates: spec.dropDuplicates)
    }

    static func splitConfig(_ spec: SplitSpec) throws -> SplitConfig {
        var keys: [Phantoms.StratifyKey] = []
        var bins: [Phantoms.StratifyKey: Binning] = [:]
        for key in spec.stratifyBy {
            guard let mapped = Phantoms.StratifyKey(rawValue: key.rawValue) else {
                throw StepError("split: stratify_by key '\(key.rawValue)' is not known to the split")
            }
            keys.append(mapped)
            if mapped.isBinned { bins[mapped] = .quantiles(spec.bins[key.rawValue] ?? SplitSpec.defaultBinCount) }
        }
        return SplitConfig(parts: ["train", "val", "test"], ratios: [spec.ratios.train, spec.ratios.val, spec.ratios.test],
                           stratifyBy: keys, bins: bins, seed: UInt64(bitPattern: Int64(spec.seed)))
    }

    /// The phantom files of an input artifact: id → (relative path, object digest), ascending ids.
    /// Files that are not phantom files are returned separately.
    static func phantomFiles(_ tree: ArtifactTree) -> (phantoms: [(id: Int, path: String, digest: String)], other: [String]) {
        var phantoms: [(Int, String, String)] = [], other: [String] = []
        for (path, digest) in tree.files {
            if let id = PhantomIO.phantomID(fromPath: path) { phantoms.append((id, path, digest)) } else { other.append(path) }
        }
        return (phantoms.sorted { $0.0 < $1.0 }, other.sorted())
    }

    static func input(_ context: StepContext, role: String, step: StepKind) throws -> ArtifactTree {
        guard let tree = context.inputs[role] else { throw StepError("\(step.rawValue): missing input '\(role)'") }
        return tree
    }

    static func writeJSON(_ value: JSONValue, to url: URL) throws {
        try Data((PrettyJSON.text(value) + "\n").utf8).write(to: url, options: .atomic)
    }

    static func int(_ n: Int) -> JSONValue { .number(Double(n)) }
}

/// Indented JSON with sorted keys (reports people open), numbers as in canonical JSON.
enum PrettyJSON {
    static func text(_ value: JSONValue, indent: String = "") -> String {
        let inner = indent + "  "
        switch value {
        case .array(let items):
            if items.isEmpty { return "[]" }
            if items.allSatisfy({ if case .object = $0 { return false }; if case .array = $0 { return false }; return true }) {
                return "[" + items.map(\.canonicalText).joined(separator: ", ") + "]"
            }
            return "[\n" + items.map { inner + text($0, indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        case .object(let fields):
            if fields.isEmpty { return "{}" }
            return "{\n" + fields.keys.sorted().map { key in
                inner + JSONValue.string(key).canonicalText + ": " + text(fields[key]!, indent: inner)
            }.joined(separator: ",\n") + "\n" + indent + "}"
        default:
            return value.canonicalText
        }
    }
}
