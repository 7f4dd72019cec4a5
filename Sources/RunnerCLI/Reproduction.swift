import Foundation
import Planner
import Steps
import Store

/// The parts of `runner reproduce`: the manifest's request chain checked and re-keyed for this
/// runner, data steps copied from a store, fingerprints, and the comparison.
enum Reproduction {
    struct Step {
        var recorded: ManifestStep
        /// The key at this runner's code versions, and the inputs re-keyed the same way.
        var newKey: String
        var newInputs: [String: String]
        var isData: Bool { ["generate", "ingest", "clean", "split"].contains(recorded.kind) }
    }

    struct Chain {
        var steps: [Step]
        var evaluate: Step { steps.last! }
        /// e.g. `evaluate 1 → 2`.
        var versionChanges: [String]
    }

    /// The chain of `manifest`, each recorded key checked against its recorded kind, version,
    /// params and inputs (an edited or damaged manifest is invalid input).
    static func chain(of manifest: Manifest) throws -> Chain {
        func invalid(_ why: String) -> CLIFailure { CLIFailure(.invalidInput, "reproduce: the manifest of run \(manifest.runID.prefix(10)): \(why)") }
        guard let recorded = manifest.steps, !recorded.isEmpty else {
            throw invalid("it records no request chain (`steps`); manifests written before runner recorded it cannot be reproduced — "
                          + "run `runner apply` again with this runner to refresh runs/<run-id>/manifest.json")
        }
        guard let last = recorded.last, last.kind == "evaluate", last.key == (manifest.stepKey ?? manifest.runID) else {
            throw invalid("its request chain does not end with the run's evaluate step")
        }
        var newKeys: [String: String] = [:]
        var steps: [Step] = []
        var changes: [String] = []
        for step in recorded {
            guard let kind = PlanStepKind(rawValue: step.kind) else { throw invalid("step \(step.name) has unknown kind '\(step.kind)'") }
            var inputs: [String: String] = [:]
            for (role, key) in step.inputs {
                guard let mapped = newKeys[key] else { throw invalid("step \(step.name): input '\(role)' (\(key.prefix(10))) is not an earlier step of the chain") }
                inputs[role] = mapped
            }
            let check = ContentKey.compute(kind: kind, version: step.version, params: step.params, inputs: step.inputs)
            guard check == step.key else {
                throw invalid("step \(step.name): its key \(step.key.prefix(10)) does not match its recorded kind, version, parameters and inputs "
                              + "(\(check.prefix(10))): the manifest was edited or is damaged")
            }
            if kind.codeVersion != step.version, !changes.contains(where: { $0.hasPrefix(kind.rawValue + " ") }) {
                changes.append("\(kind.rawValue) \(step.version) → \(kind.codeVersion)")
            }
            let newKey = ContentKey.compute(kind: kind, params: step.params, inputs: inputs)
            newKeys[step.key] = newKey
            steps.append(Step(recorded: step, newKey: newKey, newInputs: inputs))
        }
        return Chain(steps: steps, versionChanges: changes)
    }

    /// Copies a succeeded step (request, record, output objects, each checked against its digest)
    /// from `source` into `target`. False when `source` does not have it.
    static func copyStep(_ key: String, from source: StoreSnapshot, to target: RunnerStore) throws -> Bool {
        guard let record = try? source.record(key), record.status == .succeeded else { return false }
        let objects = source.root.appendingPathComponent("objects")
        for digest in Set(record.output.files.values) {
            let location = objects.appendingPathComponent(String(digest.prefix(2))).appendingPathComponent(String(digest.dropFirst(2)))
            guard FileManager.default.fileExists(atPath: location.path) else { return false }   // gc'd: re-run instead
            let copied = try target.objects.put(fileAt: location)
            guard copied == digest else {
                throw CLIFailure(.invalidInput, "reproduce: object \(digest) of step \(record.name) in \(source.root.path) is corrupt (its bytes hash to \(copied)); run `runner verify`")
            }
        }
        try target.writeRequest(record.request)
        try target.writeRecord(record)
        return true
    }

    struct Fingerprints {
        var dataset: (recorded: String, rebuilt: String)
        var split: (recorded: String, rebuilt: String)
    }

    /// The rebuilt clean step's dataset fingerprint and split step's split.json digest must equal the
    /// manifest's: otherwise the re-run would train on different data (invalid input, exit 1).
    static func checkFingerprints(_ manifest: Manifest, chain: Chain, store: RunnerStore) throws -> Fingerprints {
        guard let clean = chain.steps.first(where: { $0.recorded.kind == "clean" }), let split = chain.steps.first(where: { $0.recorded.kind == "split" }),
              let cleanRecord = try store.record(clean.newKey), let splitRecord = try store.record(split.newKey) else {
            throw CLIFailure(.invalidInput, "reproduce: the request chain has no clean and split steps")
        }
        var dataset = "unknown"
        if case .string(let f)? = cleanRecord.output.summary[path: "dataset_fingerprint"] { dataset = f }
        let splitDigest = splitRecord.output.files["split.json"] ?? "unknown"
        if dataset != manifest.datasetFingerprint {
            throw CLIFailure(.invalidInput, "reproduce: the rebuilt dataset's fingerprint \(dataset) differs from the manifest's \(manifest.datasetFingerprint); "
                             + "not training on different data")
        }
        if splitDigest != manifest.splitFingerprint {
            throw CLIFailure(.invalidInput, "reproduce: the rebuilt split's fingerprint \(splitDigest) differs from the manifest's \(manifest.splitFingerprint); "
                             + "not training on a different split")
        }
        return Fingerprints(dataset: (manifest.datasetFingerprint, dataset), split: (manifest.splitFingerprint, splitDigest))
    }

    /// The manifest the re-run's evaluate step wrote.
    static func producedManifest(_ key: String, store: RunnerStore) throws -> Manifest {
        guard let record = try store.record(key), let digest = record.output.files[RunManifestFile.name] else {
            throw CLIFailure(.stepFailed, "reproduce: the re-run evaluate step left no \(RunManifestFile.name)")
        }
        return try StoreJSON.decode(Manifest.self, from: store.objects.read(digest))
    }

    struct Result {
        var metrics: RunComparison
        var checkpoint: (recorded: String?, reproduced: String?)
        var verdict: RunComparison.Status { metrics.verdict }

        var text: String {
            var lines = [metrics.table]
            let same = checkpoint.recorded != nil && checkpoint.recorded == checkpoint.reproduced
            lines.append("checkpoint sha256: \(same ? "identical" : "different") (recorded \(checkpoint.recorded?.prefix(12) ?? "—"), "
                         + "reproduced \(checkpoint.reproduced?.prefix(12) ?? "—"))")
            switch verdict {
            case .identical: lines.append("reproduced: identical")
            case .withinTolerance: lines.append(String(format: "reproduced: within tolerance (%g relative)", metrics.tolerance))
            case .different:
                let n = metrics.rows.filter { $0.status == .different }.count
                lines.append(String(format: "NOT reproduced: %d metric(s) differ beyond the tolerance %g", n, metrics.tolerance))
            }
            return lines.joined(separator: "\n")
        }

        func json(manifest: String, runID: String, scratch: String?, reused: [String], versionChanges: [String], fingerprints: Fingerprints) -> JSONValue {
            func number(_ x: Double?) -> JSONValue { x.map { $0.isFinite ? .number($0) : .string(String($0)) } ?? .null }
            return .object([
                "manifest": .string(manifest), "run_id": .string(runID), "verdict": .string(verdict.rawValue),
                "tolerance": .number(metrics.tolerance), "scratch": scratch.map(JSONValue.string) ?? .null,
                "reused": .array(reused.map(JSONValue.string)), "code_version_changes": .array(versionChanges.map(JSONValue.string)),
                "dataset_fingerprint": .string(fingerprints.dataset.rebuilt), "split_fingerprint": .string(fingerprints.split.rebuilt),
                "checkpoint": .object(["recorded": checkpoint.recorded.map(JSONValue.string) ?? .null,
                                       "reproduced": checkpoint.reproduced.map(JSONValue.string) ?? .null,
                                       "identical": .bool(checkpoint.recorded != nil && checkpoint.recorded == checkpoint.reproduced)]),
                "metrics": .array(metrics.rows.map { r in
                    .object(["metric": .string(r.metric), "recorded": number(r.recorded), "reproduced": number(r.reproduced),
                             "difference": number(r.difference), "status": .string(r.status.rawValue)])
                }),
            ])
        }
    }

    static func compare(recorded: Manifest, reproduced: Manifest, tolerance: Double) -> Result {
        Result(metrics: RunComparison.compare(recorded: recorded.finalMetrics, reproduced: reproduced.finalMetrics, tolerance: tolerance),
               checkpoint: (recorded.checkpointSHA256, reproduced.checkpointSHA256))
    }
}
