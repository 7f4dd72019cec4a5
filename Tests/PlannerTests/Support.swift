import Foundation
import Planner
import Spec
import Store
import XCTest

/// A fresh directory under the system temp dir, removed by the test's teardown.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("PlannerTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock {
        if let e = FileManager.default.enumerator(atPath: url.path) {
            for case let rel as String in e { chmod(url.appendingPathComponent(rel).path, 0o755) }
        }
        try? FileManager.default.removeItem(at: url)
    }
    return url
}

/// The baseline experiment of most tests: small synthetic data, two seeds.
func baseExperiment(name: String = "ablation") -> Experiment {
    Experiment(name: name, description: "Which improvements beat the baseline?",
               data: DataSpec(source: .synthetic(SyntheticSource(count: 100, size: 32, seed: 7))),
               seeds: [1337, 28])
}

/// A variant made by `change` from `base`, as the spec's expansion would make it.
func variant(_ name: String, of base: Experiment, overrides: [Override] = [], _ change: (inout Experiment) -> Void = { _ in }) -> Variant {
    var experiment = base
    change(&experiment)
    return Variant(name: name, overrides: overrides, experiment: experiment)
}

/// A loaded file holding `base` and its variants (`baseline` first), with made-up source bytes.
func loaded(_ base: Experiment, variants: [Variant] = [], source: String = "name: ablation\n") -> LoadedExperiment {
    LoadedExperiment(experiment: base, variants: [Variant(name: "baseline", overrides: [], experiment: base)] + variants,
                     sources: [Spec.SourceFile(path: "experiments/ablation.yaml", contents: Data(source.utf8))])
}

/// The two-variant ablation most tests plan: baseline and spatial attention.
func ablation(_ change: (inout Experiment) -> Void = { _ in }) -> LoadedExperiment {
    var base = baseExperiment()
    change(&base)
    return loaded(base, variants: [variant("attention", of: base, overrides: [Override(path: "model.attention", value: "spatial")]) {
        $0.model.attention = .spatial
    }])
}

let testCores = CoreBudget(total: 2)
let testHost = "planner-test-host"

/// Plans against `store` (an empty store directory when nil).
func makePlan(_ files: [LoadedExperiment], store: StoreSnapshot? = nil) throws -> Plan {
    let snapshot = store ?? StoreSnapshot(root: URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)"))
    return try Planner.plan(PlanInputs.gather(files), store: snapshot, cores: testCores, host: testHost)
}

/// name → key of a plan's steps.
func keysByName(_ plan: Plan) -> [String: String] {
    Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.name, $0.key) })
}

/// Records a planned step as `runner apply` would after running it: request, a succeeded (or
/// failed) record, and the name index entry.
func recordRun(_ step: PlannedStep, in store: RunnerStore, status: Store.StepStatus = .succeeded) throws {
    let request = StepRequestRecord(key: step.key, kind: step.kind.rawValue, name: step.name, params: step.params,
                                    inputs: step.inputs, cores: step.cores)
    try store.writeRequest(request)
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    try store.writeRecord(StepRecord(request: request, status: status, started: now, finished: now.addingTimeInterval(1),
                                     host: testHost, pid: 1, logPath: "steps/\(step.key)/log.txt", runnerVersion: "test"))
    try store.recordName(experiment: step.experiment, name: step.name, key: step.key, at: now)
}

/// Names whose keys differ between two plans.
func changedNames(_ a: Plan, _ b: Plan) -> Set<String> {
    let ka = keysByName(a), kb = keysByName(b)
    return Set(ka.keys.filter { ka[$0] != kb[$0] }).union(kb.keys.filter { ka[$0] == nil })
}
