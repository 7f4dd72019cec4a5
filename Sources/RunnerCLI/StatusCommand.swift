import ArgumentParser
import Execution
import Foundation
import Planner
import Store

/// `runner status FILE… --executor slurm`: re-attaches to an experiment's Slurm jobs after the
/// submitting `apply` has gone — follows the jobs recorded in `steps/KEY/slurm.json` until they end,
/// cancelling dependants of a step that fails. Submits nothing. Exit 0 when nothing failed, 4 otherwise.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Follow an experiment's Slurm jobs (re-attach after the submitting apply has gone).")

    @Argument(help: ArgumentHelp("Experiment files.", valueName: "FILE")) var files: [String]
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Core budget the experiment was planned with (default: all cores of this machine).") var cores: Int?
    @Option(help: ArgumentHelp("Seconds between two looks at squeue.", valueName: "SECONDS")) var pollInterval: Double = 2

    func validate() throws {
        if files.isEmpty { throw ValidationError("give the experiment files the jobs were submitted for") }
        if !(pollInterval > 0) { throw ValidationError("--poll-interval must be more than 0 seconds") }
    }

    func run() throws {
        let store = try storeOptions.openExisting()
        let inputs = try ExperimentLoading.inputs(paths: files)
        let plan: Plan
        do {
            plan = try Planner.plan(inputs, store: store, cores: CoreBudget(total: cores ?? ProcessInfo.processInfo.activeProcessorCount),
                                    host: HostIdentity.current.name)
        } catch let error as PlannerError {
            throw CLIFailure(.invalidInput, "status: \(error)")
        }
        let follower = SlurmCLI.makeExecutor(plan: plan, store: store, options: SlurmOptions(retries: 0, pollInterval: pollInterval),
                                             onEvent: { Console.out(SlurmCLI.line($0)) })
        // Ctrl-C stops following; in follow mode the jobs keep running.
        let trap = SignalTrap { _ in follower.cancelAll() }
        defer { withExtendedLifetime(trap) {} }
        let result: SlurmRunResult
        do {
            try follower.client.preflight(partition: nil)
            result = try follower.run(try plan.stepsToRun.map(SlurmCLI.request(for:)), mode: .follow)
        } catch let error as SlurmError {
            throw CLIFailure(.invalidInput, "status: \(error)")
        }
        let cached = plan.steps.count - plan.stepsToRun.count
        Console.out("status: \(result.succeeded.count + cached) done (\(cached) before), \(result.failed.count) failed, "
                    + "\(result.cancelled.count) cancelled, \(result.notRunning.count) not submitted")
        if !result.failed.isEmpty || !result.cancelled.isEmpty { throw ExitCode(RunnerExit.stepFailed.rawValue) }
    }
}
