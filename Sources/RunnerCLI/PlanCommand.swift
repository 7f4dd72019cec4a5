import ArgumentParser
import Execution
import Foundation
import Planner
import Spec
import Store

extension GraphFormat: ExpressibleByArgument {}

/// `runner plan FILE…`: what `runner apply` would run, what is cached, and why — as a table,
/// JSON, or a graph. Reads the experiment files and the store; writes only `-o FILE`.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show the steps `runner apply` would run (new / changed, and why) and those already cached.",
        discussion: """
        Planning reads the experiment files and the store and changes nothing. `-o plan.json` saves the \
        plan; `runner apply plan.json` then applies exactly that plan, and refuses it when the files, \
        their data directories or the store changed since. With `--executor slurm` (or an experiment's \
        `executor: {slurm: …}`) it also shows the sbatch commands apply would run (docs/slurm.md); \
        with `--json` they are the plan's `slurm` field.
        """
    )

    @Argument(help: ArgumentHelp("Experiment files (YAML).", valueName: "FILE"))
    var files: [String]

    @Flag(name: .long, help: "Print the plan as JSON (the format `-o` saves).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Print the DAG instead of the table: dot or mermaid.", valueName: "FORMAT"))
    var graph: GraphFormat?

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Also save the plan as JSON, for `runner apply FILE`.", valueName: "FILE"))
    var output: String?

    @Option(name: .long, help: ArgumentHelp("The store directory.", valueName: "DIR"))
    var store: String = ".runner"

    @Option(name: .long, help: ArgumentHelp("Core budget (default: all cores of this machine).", valueName: "N"))
    var cores: Int?

    @Option(name: .customLong("train-cores"), help: ArgumentHelp("Cores of one training step (default: the budget shared among the experiment's train steps, at least 1 each; on Slurm, the budget).", valueName: "N"))
    var trainCores: Int?

    @OptionGroup(title: "Slurm (docs/slurm.md)") var slurm: SlurmFlags

    func validate() throws {
        if let cores, cores < 1 { throw ValidationError("--cores must be at least 1 (got \(cores))") }
        if let trainCores, trainCores < 1 { throw ValidationError("--train-cores must be at least 1 (got \(trainCores))") }
        if json && graph != nil { throw ValidationError("--json and --graph print different things; pick one") }
        if graph != nil && slurm.executor == .slurm { throw ValidationError("--graph and --executor slurm print different things; pick one") }
    }

    func run() throws {
        let inputs: PlanInputs
        do {
            inputs = try PlanInputs.load(paths: files)
        } catch let error as SpecError {
            PlanOutput.error(error.description)
            throw ExitCode(1)
        } catch let error as PlannerError {
            PlanOutput.error("error: \(error)")
            throw ExitCode(1)
        }
        let storeURL = URL(fileURLWithPath: store, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
        // Whether the steps would run on Slurm (flag, else the experiment's executor): its jobs do not share a machine's cores.
        var loaded: [LoadedExperiment]?
        if slurm.executor != .local {
            do { loaded = try ExperimentLoading.load(paths: files) } catch let failure as CLIFailure {
                PlanOutput.error(failure.message)
                throw ExitCode(failure.exit.rawValue)
            }
        }
        let onSlurm = loaded.map { slurm.usesSlurm(experiments: $0) } ?? false
        let budget = CoreBudget(total: cores ?? ProcessInfo.processInfo.activeProcessorCount, train: trainCores,
                                shareAmongTrainSteps: !onSlurm, memoryMB: CoreBudget.machineMemoryMB)
        let plan: Plan
        do {
            plan = try Planner.plan(inputs, store: StoreSnapshot(root: storeURL), cores: budget, host: HostIdentity.current.name)
        } catch {
            PlanOutput.error("error: \(error)")
            throw ExitCode(1)
        }

        if let output {
            do {
                try Data(try plan.jsonText().utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            } catch {
                PlanOutput.error("error: cannot write \(output): \(error.localizedDescription)")
                throw ExitCode(1)
            }
        }
        // The sbatch commands, when the steps would run on Slurm.
        var slurmJobs: SlurmCLI.PlannedJobs?
        if graph == nil, onSlurm, let loaded {
            do {
                slurmJobs = try SlurmCLI.plannedJobs(plan: plan, store: storeURL,
                                                     options: slurm.options(experiment: SlurmFlags.slurmSpec(of: loaded)))
            } catch let failure as CLIFailure {
                PlanOutput.error(failure.message)
                throw ExitCode(failure.exit.rawValue)
            }
        }
        if json {
            PlanOutput.out(try slurmJobs.map { try SlurmPlanDocument(plan: plan, slurm: $0).jsonText() } ?? plan.jsonText())
        } else if let graph {
            PlanOutput.out(plan.graphText(graph))
        } else {
            let colors = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            PlanOutput.out(PlanTableView(colors: colors).render(plan, store: store, savedTo: output))
            if let slurmJobs {
                PlanOutput.out("\nSlurm: \(slurmJobs.jobs.count) job\(slurmJobs.jobs.count == 1 ? "" : "s") `runner apply --executor slurm` would submit"
                               + " (store \(slurmJobs.store)):\n\n" + slurmJobs.script)
            }
        }
    }
}

/// `runner plan --json --executor slurm`: the plan's JSON (what `-o` saves, `Plan.decode` reads it)
/// with one more field, `slurm`, holding the jobs.
struct SlurmPlanDocument: Encodable {
    var plan: Plan
    var slurm: SlurmCLI.PlannedJobs

    enum CodingKeys: String, CodingKey { case slurm }

    func encode(to encoder: Encoder) throws {
        try plan.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(slurm, forKey: .slurm)
    }

    func jsonText() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}

/// The plan command's writes to stdout and stderr.
enum PlanOutput {
    static func out(_ text: String) { FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8)) }
    static func error(_ text: String) { FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8)) }
}
