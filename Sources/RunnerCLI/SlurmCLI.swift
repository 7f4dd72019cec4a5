import ArgumentParser
import Execution
import Foundation
import Planner
import Spec
import Steps
import Store

/// `--executor slurm` and the Slurm options, for `runner apply`, `runner plan` and `runner status`
/// (`@OptionGroup var slurm: SlurmFlags`). See docs/slurm.md.
struct SlurmFlags: ParsableArguments {
    enum ExecutorKind: String, ExpressibleByArgument, CaseIterable { case local, slurm }

    @Option(help: "Where steps run: local processes, or Slurm jobs chained with afterok (default: the experiment's `executor`, else local).")
    var executor: ExecutorKind?
    @Option(help: "Slurm partition (checked with `sinfo -h -p` before anything is submitted).")
    var partition: String?
    @Option(help: "Slurm account.")
    var account: String?
    @Option(name: .customLong("time"), help: ArgumentHelp("Slurm time limit per job: 90, 1:30:00, 2-00:00:00.", valueName: "LIMIT"))
    var timeLimit: String?
    @Option(help: "Slurm quality of service.")
    var qos: String?
    @Option(name: .customLong("sbatch-arg"), parsing: .unconditionalSingleValue,
            help: ArgumentHelp("Extra sbatch argument, repeatable: --sbatch-arg=--constraint=avx512.", valueName: "ARG"))
    var sbatchArguments: [String] = []
    @Option(help: "How many times a failed, cancelled or timed-out Slurm job is submitted again (default: the experiment's, else 2).")
    var retries: Int?
    @Option(help: ArgumentHelp("Seconds between two looks at squeue.", valueName: "SECONDS"))
    var pollInterval: Double = 2
    @Option(name: .customLong("mem"), help: ArgumentHelp("Slurm --mem for every job instead of each step's estimate: 4096, 500M, 8G.", valueName: "SIZE"))
    var memory: String?

    init() {}

    /// The options from the flags alone.
    var options: SlurmOptions { options(experiment: nil) }

    /// The experiment's `executor: {slurm: …}` with the flags on top (a flag wins).
    func options(experiment spec: SlurmSpec?) -> SlurmOptions {
        let environment = ProcessInfo.processInfo.environment
        var coreType = environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        if coreType == nil, ChildEnvironment.cpuHasAVX512F() { coreType = "SkylakeX" }
        return SlurmOptions(partition: partition ?? spec?.partition, account: account ?? spec?.account,
                            timeLimit: timeLimit ?? spec?.time, qos: qos ?? spec?.qos,
                            extraArguments: (spec?.extraArgs ?? []) + sbatchArguments,
                            retries: retries ?? spec?.retries ?? 2, pollInterval: pollInterval,
                            openblasCoreType: coreType, memoryMB: memory.flatMap(SlurmOptions.parseMemory))
    }

    /// Slurm when `--executor slurm`, or when the flag is absent and an experiment asks for it.
    func usesSlurm(experiments: [LoadedExperiment]) -> Bool {
        executor.map { $0 == .slurm } ?? (SlurmFlags.slurmSpec(of: experiments) != nil)
    }

    /// The first `executor: {slurm: …}` among the experiments.
    static func slurmSpec(of experiments: [LoadedExperiment]) -> SlurmSpec? {
        for loaded in experiments { if case .slurm(let spec) = loaded.experiment.executor { return spec } }
        return nil
    }

    func validate() throws {
        if executor == .local, partition != nil || account != nil || timeLimit != nil || qos != nil || !sbatchArguments.isEmpty || retries != nil || memory != nil {
            throw ValidationError("--partition, --account, --time, --qos, --mem, --sbatch-arg and --retries need --executor slurm")
        }
        if let memory, SlurmOptions.parseMemory(memory) == nil {
            throw ValidationError("--mem '\(memory)': expected a size in MiB or with a K, M, G or T suffix (4096, 500M, 8G)")
        }
        do { try options.validate() } catch let error as SlurmError { throw ValidationError(error.description) }
    }
}

/// The Slurm side of the CLI commands: builds the executor from the plan and the flags, shows
/// Slurm's own events (job ids, retries) on stderr, turns Slurm errors into invalid input (exit 1).
enum SlurmCLI {
    /// `runner apply --executor slurm`: runs `requests` as Slurm jobs and reports like the scheduler.
    static func apply(requests: [StepRequest], unavailable: [String: String], plan: Plan, store: RunnerStore,
                      options: SlurmOptions, cancellation: CancellationFlag,
                      event: @escaping (SchedulerEvent) -> Void) throws -> RunSummary {
        let executor = makeExecutor(plan: plan, store: store, options: options)
        do {
            return try executor.runAsScheduler(requests, unavailable: unavailable, memoryMB: MemoryModel.estimates(plan),
                                               cancellation: cancellation,
                                               slurmEvent: { Console.error(line($0)) }, event: event)
        } catch let error as SlurmError {
            throw CLIFailure(.invalidInput, "apply: \(error)")
        }
    }

    /// What `runner plan --executor slurm` shows: the sbatch commands of the steps to run, and the
    /// steps of kinds this runner cannot run yet (and what depends on them), listed, not submitted, as in apply.
    struct PlannedJobs: Encodable {
        struct NotSubmitted: Encodable { var key: String; var name: String; var reason: String }
        var store: String
        var runner: String
        var jobs: [SlurmPlannedJob]
        var notSubmitted: [NotSubmitted]
        /// How many times apply resubmits a failed job.
        var retries: Int
        /// The same jobs as a bash script (the human view).
        var script: String

        enum CodingKeys: String, CodingKey { case store, runner, jobs, notSubmitted = "not_submitted", retries, script }
    }

    static func plannedJobs(plan: Plan, store: URL, options: SlurmOptions) throws -> PlannedJobs {
        let requests = try plan.stepsToRun.map(request(for:))
        var notRunnable: [String: String] = [:]
        let ordered: [StepRequest]
        do {
            try options.validate()   // the experiment's values too, as apply would refuse them
            ordered = try SlurmExecutor.topologicalOrder(requests)
        } catch let error as SlurmError {
            throw CLIFailure(.invalidInput, "plan: \(error)")
        }
        for step in ordered {
            if let why = StepRegistry.standard.unavailableReason(step.kind) {
                notRunnable[step.key] = why
            } else if let input = step.inputs.values.sorted().first(where: { notRunnable[$0] != nil }) {
                notRunnable[step.key] = "its input \(ordered.first { $0.key == input }?.name ?? input) cannot run"
            }
        }
        let experiments = Dictionary(plan.steps.map { ($0.key, $0.experiment) }, uniquingKeysWith: { first, _ in first })
        let runner = RunnerExecutable.url.path
        do {
            let jobs = try SlurmPlanScript.jobs(ordered.filter { notRunnable[$0.key] == nil }, memoryMB: MemoryModel.estimates(plan),
                                                experiment: plan.experiments.first ?? "runner", experimentNames: experiments,
                                                options: options, runner: runner, store: store.path)
            var script = SlurmPlanScript.render(jobs, experiment: plan.experiments.joined(separator: "+"), options: options)
            let skipped = ordered.filter { notRunnable[$0.key] != nil }.map { PlannedJobs.NotSubmitted(key: $0.key, name: $0.name, reason: notRunnable[$0.key]!) }
            for step in skipped { script += "# not submitted: \(step.name): \(step.reason)\n" }
            return PlannedJobs(store: store.path, runner: runner, jobs: jobs, notSubmitted: skipped, retries: options.retries, script: script)
        } catch let error as SlurmError {
            throw CLIFailure(.invalidInput, "plan: \(error)")
        }
    }

    static func makeExecutor(plan: Plan, store: RunnerStore, options: SlurmOptions,
                             onEvent: @escaping (SlurmEvent) -> Void = { _ in }) -> SlurmExecutor {
        let executor = SlurmExecutor(store: store, experiment: plan.experiments.first ?? "runner",
                                     runner: RunnerExecutable.url.path, options: options, onEvent: onEvent)
        executor.experimentNames = Dictionary(plan.steps.map { ($0.key, $0.experiment) }, uniquingKeysWith: { first, _ in first })
        return executor
    }

    static func request(for step: PlannedStep) throws -> StepRequest {
        guard let kind = StepKind(rawValue: step.kind.rawValue) else {
            throw CLIFailure(.invalidInput, "step \(step.name) has kind '\(step.kind.rawValue)', unknown to this runner")
        }
        return StepRequest(key: step.key, kind: kind, name: step.name, params: step.params, inputs: step.inputs, cores: step.cores)
    }

    /// One human line per Slurm event worth showing beside the scheduler's view.
    static func line(_ event: SlurmEvent) -> String {
        switch event {
        case .cached(_, let name): return "slurm: \(name): cached, not submitted"
        case .adopted(_, let name, let job): return "slurm: \(name): following job \(job) of an earlier apply"
        case .submitted(_, let name, let job, let attempt, let deps):
            return "slurm: \(name): submitted as job \(job)" + (attempt > 1 ? " (attempt \(attempt))" : "")
                + (deps.isEmpty ? "" : " after " + deps.joined(separator: ", "))
        case .stateChanged(_, let name, let job, let state, let reason):
            return "slurm: \(name): job \(job) \(state)" + (reason == "None" ? "" : " (\(reason))")
        case .progress(_, let done, let total, let message): return "slurm: progress \(done)/\(total) \(message)"
        case .retrying(_, let name, let job, let why, let next):
            return "slurm: \(name): job \(job) ended without a record, submitting attempt \(next): \(why)"
        case .succeeded(_, let name, let job): return "slurm: \(name): job \(job) succeeded"
        case .failed(_, let name, let job, let message, let log): return "slurm: \(name): job \(job) failed: \(message)\n  log: \(log)"
        case .cancelledUpstreamFailed(_, let name, let upstream, let job):
            return "slurm: \(name): cancelled" + (job.map { " (job \($0))" } ?? "") + ", upstream \(upstream) failed"
        case .stopped(_, let name, let job): return "slurm: \(name): job \(job) cancelled (stopped)"
        case .notRunning(_, let name): return "slurm: \(name): no job in Slurm and no record"
        }
    }
}
