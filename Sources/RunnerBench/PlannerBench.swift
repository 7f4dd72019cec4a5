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

    var load = [Double](), gather = [Double](), plan = [Double](), total = [Double](), cpu = [Double]()
    var steps = 0, cached = 0
    for _ in 0..<5 {
        let c0 = processCPUSeconds()
        let t0 = DispatchTime.now().uptimeNanoseconds
        let loaded = try ExperimentLoader.load(path: file.path)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let inputs = try PlanInputs.gather([loaded])
        let t2 = DispatchTime.now().uptimeNanoseconds
        let result = try Planner.plan(inputs, store: store.snapshot, cores: cores, host: host)
        let t3 = DispatchTime.now().uptimeNanoseconds
        load.append(Double(t1 - t0) / 1e9); gather.append(Double(t2 - t1) / 1e9)
        plan.append(Double(t3 - t2) / 1e9); total.append(Double(t3 - t0) / 1e9); cpu.append(processCPUSeconds() - c0)
        steps = result.steps.count; cached = result.summary.cached
    }
    let median = { (xs: [Double]) in xs.sorted()[xs.count / 2] }
    // Where planning spends its time: building the graph (params, keys) vs reading the store.
    let inputs = try PlanInputs.gather([ExperimentLoader.load(path: file.path)])
    var graphTimes = [Double](), planTimes = [Double]()
    for _ in 0..<5 {
        let c0 = processCPUSeconds()
        _ = try ExperimentGraph.build(inputs.experiments[0], directories: [:], cores: cores)
        let c1 = processCPUSeconds()
        _ = try Planner.plan(inputs, store: store.snapshot, cores: cores, host: host)
        let c2 = processCPUSeconds()
        graphTimes.append(c1 - c0); planTimes.append(c2 - c1)
    }
    print(String(format: "  (CPU time of planning: graph and keys %.3f s, statuses against the store %.3f s)",
                 median(graphTimes), median(planTimes) - median(graphTimes)))
    print("planner: 1,000-variant matrix × 3 seeds → \(steps) steps (\(cached) cached), median of 5 runs")
    print(String(format: "  load YAML + expand (Spec)     %7.3f s", median(load)))
    print(String(format: "  encode variants (PlanInputs)  %7.3f s", median(gather)))
    print(String(format: "  plan against the store        %7.3f s", median(plan)))
    print(String(format: "  total                         %7.3f s   target 1 s   ratio target/measured %.2f×", median(total), 1 / median(total)))
    print(String(format: "  total CPU time of the process %7.3f s   (wall and CPU differ when other processes share the cores)", median(cpu)))
}

/// CPU seconds (user + system) this process has used.
func processCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
