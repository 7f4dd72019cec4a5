import ArgumentParser
import Execution
import Foundation
import Planner
import Spec
import Steps
import Store

/// `runner apply FILE… | plan.json`: plan (or read a saved plan and refuse it when stale), take the
/// store lock, write the requests, run the steps to run, record names and throughput, summarise.
struct ApplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Run what the plan says must run: parallel, cached by content, crash-safe.",
        discussion: """
        Exit codes: 0 every runnable step succeeded (steps this runner cannot run yet are listed) and every gate passed ·
        1 invalid input, a stale saved plan or a bad gate baseline manifest · 2 usage · 3 a gate failed · 4 a step failed ·
        130 interrupted (run again to continue).
        """)

    enum FailureMode: EnumerableFlag {
        case keepGoing, failFast
        static func help(for value: FailureMode) -> ArgumentHelp? {
            switch value {
            case .keepGoing: return "After a failure, finish the independent branches (default)."
            case .failFast: return "After a failure, launch nothing new."
            }
        }
    }

    @Argument(help: ArgumentHelp("Experiment files, or one plan saved by `runner plan -o plan.json`.", valueName: "FILE"))
    var files: [String]
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Core budget for all steps together (default: all cores of this machine).") var cores: Int?
    @Option(name: .customLong("train-cores"), help: ArgumentHelp("Cores of one training step (default: the budget shared among the experiment's train steps, at least 1 each; on Slurm, the budget).", valueName: "N"))
    var trainCores: Int?
    @Flag var failureMode: FailureMode = .keepGoing
    @Flag(help: "Fail at once when another apply holds the store lock, instead of waiting.") var noWait = false
    @Flag(help: "One JSON object per line instead of the human display.") var json = false
    @OptionGroup(title: "Slurm (docs/slurm.md)") var slurm: SlurmFlags

    func validate() throws {
        if files.isEmpty { throw ValidationError("give experiment files or a saved plan (plan.json)") }
        if let cores, cores < 1 { throw ValidationError("--cores must be at least 1 (got \(cores))") }
        if let trainCores, trainCores < 1 { throw ValidationError("--train-cores must be at least 1 (got \(trainCores))") }
    }

    func run() throws {
        let budget = cores ?? ProcessInfo.processInfo.activeProcessorCount
        let view = ApplyViewFactory.make(json: json)
        let wallClock = SystemTime()
        let began = wallClock.now()

        // 1. Read and check every input before the store is touched: invalid input writes nothing.
        let saved = try ExperimentLoading.savedPlan(files)
        let loaded = try ExperimentLoading.load(paths: saved.map { try ExperimentLoading.experimentFiles(of: $0) } ?? files)
        let inputs = try ExperimentLoading.gather(loaded)
        // Gates comparing with stored manifests: a missing or bad manifest stops here, before anything runs.
        let storedBaselines = try GateReport.storedBaselines(loaded)

        // 2. Lock the store; planning reads it under the lock so no other apply changes it meanwhile.
        let store = try storeOptions.open()
        let cancellation = CancellationFlag()
        var interrupts = 0
        let locked = AtomicFlag()
        let trap = SignalTrap { sig in
            interrupts += 1
            if !locked.isSet {
                // Still waiting for the lock: nothing of ours runs yet.
                Console.error("\(SignalTrap.name(sig)): stopped waiting for the store lock; nothing was run")
                Foundation.exit(RunnerExit.interrupted.rawValue)
            }
            // Asked twice: leave now. Our steps end themselves when we are gone; the lock is taken over next time.
            if interrupts > 1 { Foundation.exit(RunnerExit.interrupted.rawValue) }
            view.interrupted(signal: SignalTrap.name(sig))
            cancellation.cancel()
        }
        defer { withExtendedLifetime(trap) {} }
        let lock: LockHandle
        do {
            lock = try store.lock().acquire(command: commandLine, wait: noWait ? .noWait : .wait(timeout: nil)) { event in
                switch event {
                case .waiting(let holder): view.waiting(for: holder)
                case .tookOverStale(let holder): view.tookOverStaleLock(holder)
                }
            }
        } catch let error as StoreError {
            if case .lockHeld = error { throw CLIFailure(.invalidInput, "apply: \(error)") }
            throw CLIFailure(.invalidInput, "apply: cannot lock the store: \(error)")
        }
        defer { try? lock.release() }
        locked.set()

        let plan: Plan
        do {
            let current = try Planner.plan(inputs, store: store, cores: CoreBudget(total: budget, train: trainCores, shareAmongTrainSteps: !slurm.usesSlurm(experiments: loaded), memoryMB: CoreBudget.machineMemoryMB), host: HostIdentity.current.name)
            if let saved {
                let reasons = saved.staleness(comparedWith: current)
                if !reasons.isEmpty {
                    throw CLIFailure(.invalidInput, "apply: the saved plan is stale; run `runner plan` again:\n"
                                     + reasons.map { "  - \($0)" }.joined(separator: "\n"))
                }
                plan = saved
            } else {
                plan = current
            }
        } catch let error as PlannerError {
            throw CLIFailure(.invalidInput, "apply: \(error)")
        }

        // 3. Requests for every step to run; kinds this runner cannot run are reported, not started.
        let registry = StepRegistry.standard
        var requests: [StepRequest] = []
        var unavailable: [String: String] = [:]
        var unavailableSteps: [(PlannedStep, String)] = []
        var byKey: [String: PlannedStep] = [:]
        for step in plan.steps {
            byKey[step.key] = step
            guard step.action == .run else { continue }
            guard let kind = StepKind(rawValue: step.kind.rawValue) else {
                throw CLIFailure(.invalidInput, "apply: step \(step.name) has kind '\(step.kind.rawValue)', unknown to this runner")
            }
            // Names are unique within an experiment; with several experiments, say whose step it is.
            let name = plan.experiments.count > 1 ? "\(step.experiment)/\(step.name)" : step.name
            let request = StepRequest(key: step.key, kind: kind, name: name, params: step.params,
                                      inputs: step.inputs, cores: step.cores)
            if let why = registry.unavailableReason(kind) {
                unavailable[step.key] = why
            } else {
                try store.writeRequest(StepRequestRecord(key: step.key, kind: kind.rawValue, name: name,
                                                         params: step.params, inputs: step.inputs, cores: step.cores))
            }
            requests.append(request)
        }
        let cachedCount = plan.steps.count - requests.count
        try recordNames(of: plan.steps.filter { $0.action == .cached }, in: store)
        view.planned(toRun: requests.count - unavailable.count, cached: cachedCount,
                     unavailable: plan.steps.filter { unavailable[$0.key] != nil }, cores: budget)

        // 4. Schedule.
        let scheduler = Scheduler(steps: requests, unavailable: unavailable, cores: budget,
                                  policy: failureMode == .failFast ? .failFast : .keepGoing)
        let host = HostIdentity.current.name
        var failedLogs: [(String, String)] = []
        let handle: (SchedulerEvent) -> Void = { event in
            view.event(event)
            if case let .failed(request, _, log) = event {
                failedLogs.append((request.key, log ?? store.root.appendingPathComponent("steps/\(request.key)/log.txt").path))
            }
            if case let .finished(request, duration) = event, let step = byKey[request.key] {
                if let record = try? store.record(request.key) { view.details(request, summary: record.output.summary) }
                try? recordNames(of: [step], in: store)
                if step.work.units > 0, duration > 0 {
                    _ = try? store.recordThroughput(kind: step.kind.rawValue, host: host, unit: step.work.unit,
                                                    seconds: duration * Double(scheduler.cores(for: request)),
                                                    units: step.work.units, at: Date())
                }
            }
        }
        let summary: RunSummary
        if slurm.usesSlurm(experiments: loaded) {
            summary = try SlurmCLI.apply(requests: requests, unavailable: unavailable, plan: plan, store: store,
                                         options: slurm.options(experiment: SlurmFlags.slurmSpec(of: loaded)),
                                         cancellation: cancellation, event: handle)
        } else {
            let executor = LocalExecutor(runner: RunnerExecutable.url, storeRoot: store.root, coreBudget: budget)
            summary = scheduler.run(executor: executor, cancellation: cancellation, events: handle)
        }
        for (key, reason) in summary.skipped {
            if case .unavailable(let why) = reason, let step = byKey[key] { unavailableSteps.append((step, why)) }
        }
        let order = Dictionary(plan.steps.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { a, _ in a })
        unavailableSteps.sort { order[$0.0.key, default: 0] < order[$1.0.key, default: 0] }

        // Success: every step that could run here ran; steps of kinds not implemented yet are listed, not failures.
        let notRun = summary.skipped.values.contains { if case .unavailable = $0 { return false } else { return true } }
        let exit: RunnerExit = summary.cancelled ? .interrupted
            : (!summary.failed.isEmpty || !summary.stopped.isEmpty || notRun) ? .stepFailed : .success
        view.finished(ApplyReport(summary: summary, steps: byKey, cached: cachedCount, unavailable: unavailableSteps,
                                  names: Dictionary(requests.map { ($0.key, $0.name) }, uniquingKeysWith: { a, _ in a }), failedLogs: failedLogs,
                                  elapsed: wallClock.now() - began, exit: exit))
        if !json { for line in ReportCommand.publish(plan: plan, store: store) { Console.out(line) } }
        if exit != .success { throw ExitCode(exit.rawValue) }
        try checkGates(plan: plan, loaded: loaded, store: store, stored: storedBaselines)
    }

    /// Publishes the run manifests to runs/<evaluate key>/manifest.json, prints the summary table and
    /// the `gate` section of every variant (Steps' `Gates`), records the gate results in the run
    /// manifests; exit 3 on a failed gate.
    private func checkGates(plan: Plan, loaded: [LoadedExperiment], store: RunnerStore, stored: [String: Gates.StoredBaseline]) throws {
        try RunPublishing.publish(plan: plan, store: store)
        let report = GateReport.collect(plan: plan, loaded: loaded, store: store, stored: stored)
        try report.record(in: store)
        if json {
            Console.out(JSONValue.object(["event": .string("gates"), "report": report.json]).canonicalText)
        } else if !report.text.isEmpty {
            Console.out(report.text)
        }
        if !report.failed.isEmpty { throw ExitCode(RunnerExit.gateFailed.rawValue) }
    }

    private var commandLine: String {
        (["runner", "apply"] + CommandLine.arguments.dropFirst(2)).joined(separator: " ")
    }

    /// Points the names index at these steps' keys (for "changed: why" in later plans), writing
    /// only entries that change, so a fully cached apply writes nothing.
    private func recordNames(of steps: [PlannedStep], in store: RunnerStore) throws {
        for step in steps {
            for name in [StepName(experiment: step.experiment, name: step.name)] + step.alsoNamed {
                if (try? store.lastKey(experiment: name.experiment, name: name.name)) == step.key { continue }
                try store.recordName(experiment: name.experiment, name: name.name, key: step.key, at: Date())
            }
        }
    }
}
