import ArgumentParser
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
        their data directories or the store changed since.
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

    @Option(name: .customLong("train-cores"), help: ArgumentHelp("Cores of one training step (default: the budget).", valueName: "N"))
    var trainCores: Int?

    func validate() throws {
        if let cores, cores < 1 { throw ValidationError("--cores must be at least 1 (got \(cores))") }
        if let trainCores, trainCores < 1 { throw ValidationError("--train-cores must be at least 1 (got \(trainCores))") }
        if json && graph != nil { throw ValidationError("--json and --graph print different things; pick one") }
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
        let budget = CoreBudget(total: cores ?? ProcessInfo.processInfo.activeProcessorCount, train: trainCores)
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
        if json {
            PlanOutput.out(try plan.jsonText())
        } else if let graph {
            PlanOutput.out(plan.graphText(graph))
        } else {
            let colors = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            PlanOutput.out(PlanTableView(colors: colors).render(plan, store: store, savedTo: output))
        }
    }
}

/// The plan command's writes to stdout and stderr.
enum PlanOutput {
    static func out(_ text: String) { FileHandle.standardOutput.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8)) }
    static func error(_ text: String) { FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8)) }
}
