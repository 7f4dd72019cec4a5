import Foundation
import Planner
import Spec
import Steps
import Store

/// The evaluate results of a plan's experiments as the store holds them, the summary table and the
/// gates: what `runner apply` prints after a run and `runner check` prints without one.
struct GateReport {
    struct ExperimentGates {
        var experiment: String
        var variants: [String]
        var metrics: [String]
        /// variant → metric → one value per seed.
        var results: [String: [String: [Double]]]
        var outcomes: [Gates.Outcome]
        /// variant → run ids (evaluate keys) whose results entered `results`.
        var runs: [String: [String]]
    }

    var experiments: [ExperimentGates]
    /// Evaluate steps of the plan without a succeeded record (their gates cannot be judged).
    var missing: [PlannedStep]

    var failed: [Gates.Outcome] { experiments.flatMap(\.outcomes).filter { !$0.passed } }

    /// Every stored manifest the gates of `loaded` compare against, read and checked to hold the
    /// compared metrics. A missing or bad file is invalid input (exit 1), before anything runs.
    static func storedBaselines(_ loaded: [LoadedExperiment]) throws -> [String: Gates.StoredBaseline] {
        var out: [String: Gates.StoredBaseline] = [:]
        do {
            for experiment in loaded {
                for variant in experiment.variants { try Gates.storedBaselines(variant.experiment.gate, loaded: &out) }
            }
        } catch let error as GateError {
            throw CLIFailure(.invalidInput, error.description)
        }
        return out
    }

    /// Collects each evaluate step's summary metrics by experiment and variant (a step shared by
    /// several variants counts for each) and evaluates every variant's gates.
    static func collect(plan: Plan, loaded: [LoadedExperiment], store: some StoreReader,
                        stored: [String: Gates.StoredBaseline]) -> GateReport {
        var results: [String: [String: [String: [Double]]]] = [:]
        var runs: [String: [String: [String]]] = [:]
        var missing: [PlannedStep] = []
        for step in plan.steps where step.kind == .evaluate {
            guard let record = try? store.record(step.key), record.status == .succeeded, case .object(let summary) = record.output.summary else {
                missing.append(step)
                continue
            }
            let names = [StepName(experiment: step.experiment, name: step.name)] + step.alsoNamed
            var seen = Set<String>()
            for name in names {
                guard let variant = variantName(of: name.name), seen.insert(name.experiment + "\u{0}" + variant).inserted else { continue }
                runs[name.experiment, default: [:]][variant, default: []].append(step.key)
                for (metric, value) in summary {
                    if case .number(let x) = value { results[name.experiment, default: [:]][variant, default: [:]][metric, default: []].append(x) }
                }
            }
        }
        var experiments: [ExperimentGates] = []
        for experiment in loaded {
            let name = experiment.experiment.name
            let table = results[name] ?? [:]
            var outcomes: [Gates.Outcome] = []
            for variant in experiment.variants {
                outcomes += Gates.evaluate(variant.experiment.gate, variant: variant.name, results: table, stored: stored)
            }
            experiments.append(ExperimentGates(experiment: name, variants: experiment.variants.map(\.name),
                                               metrics: experiment.experiment.evaluate.metrics, results: table,
                                               outcomes: outcomes, runs: runs[name] ?? [:]))
        }
        return GateReport(experiments: experiments, missing: missing)
    }

    /// `evaluate[attention, seed 28]` → `attention` (nil for other names).
    static func variantName(of stepName: String) -> String? {
        guard stepName.hasPrefix("evaluate["), let close = stepName.lastIndex(of: "]") else { return nil }
        let inner = stepName[stepName.index(stepName.startIndex, offsetBy: "evaluate[".count)..<close]
        guard let comma = inner.range(of: ", seed ", options: .backwards) else { return String(inner) }
        return String(inner[..<comma.lowerBound])
    }

    /// The table of each experiment and one line per gate, as printed after apply and by check.
    var text: String {
        var lines: [String] = []
        for e in experiments where !e.results.isEmpty {
            if experiments.count > 1 { lines.append("\(e.experiment):") }
            lines.append(Gates.summaryTable(variants: e.variants, metrics: e.metrics, results: e.results))
            lines += e.outcomes.map(\.message)
        }
        return lines.joined(separator: "\n")
    }

    /// The JSON form (`runner check --json`, the `gates` event of `apply --json`).
    var json: JSONValue {
        func number(_ x: Double) -> JSONValue { x.isFinite ? .number(x) : .null }
        return .object([
            "passed": .bool(failed.isEmpty && missing.isEmpty),
            "missing": .array(missing.map { .object(["experiment": .string($0.experiment), "step": .string($0.name), "key": .string($0.key)]) }),
            "experiments": .array(experiments.map { e in
                .object([
                    "experiment": .string(e.experiment),
                    "variants": .array(e.variants.map { v in
                        .object([
                            "variant": .string(v),
                            "runs": .array((e.runs[v] ?? []).map(JSONValue.string)),
                            "metrics": .object(Dictionary(uniqueKeysWithValues: e.metrics.map { m in
                                let est = Gates.estimate(e.results[v]?[m] ?? [])
                                return (m, JSONValue.object(["mean": number(est.mean), "ci95": number(est.halfWidth), "seeds": .number(Double(est.count)),
                                                             "values": .array((e.results[v]?[m] ?? []).map(number))]))
                            })),
                        ])
                    }),
                    "gates": .array(e.outcomes.map { o in
                        .object(["variant": .string(o.variant), "metric": .string(o.metric), "value": number(o.value.mean),
                                 "ci95": number(o.value.halfWidth), "seeds": .number(Double(o.value.count)), "rule": .string(o.threshold),
                                 "comparison": .string(o.comparison), "threshold": number(o.limit), "passed": .bool(o.passed)])
                    }),
                ])
            }),
        ])
    }

    /// Writes each variant's gate results into the manifests of its runs (runs/<id>/manifest.json),
    /// only where they changed, so a repeated apply writes nothing.
    func record(in store: RunnerStore) throws {
        for e in experiments {
            for variant in e.variants {
                let results = e.outcomes.filter { $0.variant == variant }.map(Gates.result)
                for runID in e.runs[variant] ?? [] {
                    guard var manifest = try? store.manifest(runID: runID), manifest.gates != results else { continue }
                    manifest.gates = results
                    try store.writeManifest(manifest, runID: runID)
                }
            }
        }
    }
}

/// Publishes the run manifests the evaluate steps wrote as output files to `runs/<evaluate key>/manifest.json`,
/// adding what only the store knows: the experiment name, the request chain and the train step's cores.
enum RunPublishing {
    static func publish(plan: Plan, store: RunnerStore) throws {
        for step in plan.steps where step.kind == .evaluate {
            guard let record = try? store.record(step.key), record.status == .succeeded,
                  let digest = record.output.files[RunManifestFile.name] else { continue }
            if let existing = try? store.manifest(runID: step.key), existing.steps != nil { continue }
            var manifest: Manifest
            do { manifest = try StoreJSON.decode(Manifest.self, from: store.objects.read(digest)) } catch {
                throw CLIFailure(.stepFailed, "\(step.name): its manifest.json cannot be read: \(error)")
            }
            manifest.experiment = step.experiment
            manifest.steps = try? store.requestChain(of: step.key, versions: PlanStepKind.codeVersions)
            manifest.trainCores = manifest.steps?.first { $0.kind == "train" }?.cores
            if let old = try? store.manifest(runID: step.key) { manifest.gates = old.gates }
            try store.writeManifest(manifest, runID: step.key)
        }
    }
}

enum RunManifestFile {
    static let name = "manifest.json"
}
