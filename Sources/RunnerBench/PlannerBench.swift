import Foundation
import Planner
import Spec
import Store

/// `runner plan` on a 1,000-variant matrix × 3 seeds (≈ 6,000 steps), phase by phase, against the
/// target of 1 s: loading the YAML (spec loader, expansion), turning it into planner inputs, and
/// planning against a store in which the data steps and some training runs are recorded.
func runPlannerBenchmarks() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("PlannerBench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    // 10 × 10 × 10 = 1,000 variants, 3 seeds each.
    let yaml = """
    name: matrix-1000
    data:
      source: {synthetic: {count: 1500, size: 64, seed: 7}}
    optimizer: {kind: adamw, lr: 1.0e-3}
    seeds: [1337, 28, 1994]
    matrix:
      optimizer.lr: [1.0e-5, 2.0e-5, 5.0e-5, 1.0e-4, 2.0e-4, 3.0e-4, 5.0e-4, 7.0e-4, 1.0e-3, 2.0e-3]
      model.dropout.rate: [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45]
      training.batch_size: [16, 20, 24, 28, 32, 36, 40, 44, 48, 64]

    """
    let file = dir.appendingPathComponent("matrix-1000.yaml")
    try Data(yaml.utf8).write(to: file)
    let store = try RunnerStore(root: dir.appendingPathComponent(".runner"))
    let cores = CoreBudget(total: 2)
    let host = HostIdentity.current.name

    // Record the data steps and the first 30 training runs, as after a partial apply.
    let first = try Planner.plan(PlanInputs.load(paths: [file.path]), store: store.snapshot, cores: cores, host: host)
    let now = Date()
    for step in first.steps.filter({ $0.kind < .train }) + first.steps.filter({ $0.kind == .train }).prefix(30) {
        let request = StepRequestRecord(key: step.key, kind: step.kind.rawValue, name: step.name, params: step.params, inputs: step.inputs, cores: step.cores)
        try store.writeRequest(request)
        try store.writeRecord(StepRecord(request: request, status: .succeeded, started: now, finished: now, host: host, pid: 0,
                                         logPath: "steps/\(step.key)/log.txt", runnerVersion: "bench"))
        try store.recordName(experiment: step.experiment, name: step.name, key: step.key, at: now)
    }

    // Each phase timed by the wall clock and by this process's CPU time: on a machine whose
    // cores are shared with other work the two differ, and CPU time is what planning costs.
    var wall: [String: [Double]] = [:], cpu: [String: [Double]] = [:]
    func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
        let w0 = DispatchTime.now().uptimeNanoseconds, c0 = processCPUSeconds()
        let result = try body()
        cpu[phase, default: []].append(processCPUSeconds() - c0)
        wall[phase, default: []].append(Double(DispatchTime.now().uptimeNanoseconds - w0) / 1e9)
        return result
    }
    var steps = 0, cached = 0, bytes = 0
    for _ in 0..<5 {
        let result = try timed("total") { () throws -> Plan in
            let loaded = try timed("load") { try ExperimentLoader.load(path: file.path) }
            let inputs = try timed("inputs") { try PlanInputs.gather([loaded]) }
            return try timed("plan") { try Planner.plan(inputs, store: store.snapshot, cores: cores, host: host) }
        }
        steps = result.steps.count; cached = result.summary.cached
        let text = try timed("write") { try result.jsonText() }
        _ = try timed("read") { try Plan.decode(jsonData: Data(text.utf8)) }
        bytes = text.utf8.count
    }
    let median = { (xs: [Double]?) in xs.map { $0.sorted()[$0.count / 2] } ?? .nan }
    let rows: [(String, String)] = [
        ("load", "load YAML + expand (Spec)"), ("inputs", "encode variants (PlanInputs)"), ("plan", "plan against the store"),
        ("total", "total: runner plan's work"), ("write", "plan → JSON (-o, --json)"), ("read", "JSON → plan (apply plan.json)"),
    ]
    print("planner: 1,000-variant matrix × 3 seeds → \(steps) steps (\(cached) cached), median of 5 runs; target: total < 1 s")
    print("  phase                            wall s    CPU s")
    for (phase, label) in rows {
        print("  " + label.padding(toLength: 30, withPad: " ", startingAt: 0) + String(format: " %8.3f %8.3f", median(wall[phase]), median(cpu[phase])))
    }
    print(String(format: "  plan JSON: %.1f MB; target / total: %.2f× (wall), %.2f× (CPU)",
                 Double(bytes) / 1e6, 1 / median(wall["total"]), 1 / median(cpu["total"])))
}

/// CPU seconds (user + system) this process has used.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

