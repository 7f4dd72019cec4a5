import ArgumentParser
import Execution
import Foundation
import Planner
import Steps
import Store

/// `--executor slurm` and the Slurm options, for `runner apply`, `runner plan` and `runner status`
/// (`@OptionGroup var slurm: SlurmFlags`). See docs/slurm.md.
struct SlurmFlags: ParsableArguments {
    enum ExecutorKind: String, ExpressibleByArgument, CaseIterable { case local, slurm }

    @Option(help: "Where steps run: local processes, or Slurm jobs chained with afterok.")
    var executor: ExecutorKind = .local
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
    @Option(help: "How many times a failed, cancelled or timed-out Slurm job is submitted again.")
    var retries: Int = 2
    @Option(help: ArgumentHelp("Seconds between two looks at squeue.", valueName: "SECONDS"))
    var pollInterval: Double = 2

    init() {}

    var options: SlurmOptions {
        let environment = ProcessInfo.processInfo.environment
        var coreType = environment["OPENBLAS_CORETYPE"].flatMap { $0.isEmpty ? nil : $0 }
        if coreType == nil, ChildEnvironment.cpuHasAVX512F() { coreType = "SkylakeX" }
        return SlurmOptions(partition: partition, account: account, timeLimit: timeLimit, qos: qos,
                            extraArguments: sbatchArguments, retries: retries, pollInterval: pollInterval,
                            openblasCoreType: coreType)
    }

    func validate() throws {
        if executor == .local, partition != nil || account != nil || timeLimit != nil || qos != nil || !sbatchArguments.isEmpty {
            throw ValidationError("--partition, --account, --time, --qos and --sbatch-arg need --executor slurm")
        }
        do { try options.validate() } catch let error as SlurmError { throw ValidationError(error.description) }
    }
}

/// The Slurm side of the CLI commands: builds the executor from the plan and the flags, shows
/// Slurm's own events (job ids, retries) on stderr, turns Slurm errors into invalid input (exit 1).
enum SlurmCLI {
    /// `runner apply --executor slurm`: runs `requests` as Slurm jobs and reports like the scheduler.
    static func apply(requests: [StepRequest], unavailable: [String: String], plan: Plan, store: RunnerStore,
                      flags: SlurmFlags, cancellation: CancellationFlag,
                      event: @escaping (SchedulerEvent) -> Void) throws -> RunSummary {
        let executor = makeExecutor(plan: plan, store: store, options: flags.options)
        do {
            return try executor.runAsScheduler(requests, unavailable: unavailable, cancellation: cancellation,
                                               slurmEvent: { Console.error(line($0)) }, event: event)
        } catch let error as SlurmError {
            throw CLIFailure(.invalidInput, "apply: \(error)")
        }
    }

    /// `runner plan --executor slurm`: the sbatch commands of the steps to run, as a bash script.
    static func planScript(plan: Plan, store: URL, flags: SlurmFlags) throws -> String {
        let requests = try plan.stepsToRun.map(request(for:))
        do {
            return try SlurmPlanScript.render(requests, experiment: plan.experiments.joined(separator: "+"), options: flags.options,
                                              runner: RunnerExecutable.url.path, store: store.path)
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
