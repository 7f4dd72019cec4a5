import ArgumentParser
import Foundation
import Planner
import Store

/// `runner check FILE…`: the gates of experiments on the results already in the store, without
/// training. Plans against the store (read only, no lock) and judges the evaluate steps' results.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Evaluate the gates of experiments on stored results, without running anything.",
        discussion: """
        Reads the experiment files and the store and writes nothing. Exit codes: 0 every gate passed · \
        1 invalid input, a bad gate baseline manifest, or evaluate steps not run yet (listed; run `runner apply`) · \
        2 usage · 3 a gate failed.
        """)

    @Argument(help: ArgumentHelp("Experiment files (YAML).", valueName: "FILE")) var files: [String]
    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Print one JSON object (tables, gates, missing steps) instead of text.") var json = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give one or more experiment files") }
    }

    func run() throws {
        let loaded = try ExperimentLoading.load(paths: files)
        let inputs = try ExperimentLoading.gather(loaded)
        let stored = try GateReport.storedBaselines(loaded)
        let snapshot = StoreSnapshot(root: storeOptions.url)
        let plan: Plan
        do {
            plan = try Planner.plan(inputs, store: snapshot, cores: CoreBudget(total: 1), host: HostIdentity.current.name)
        } catch {
            throw CLIFailure(.invalidInput, "check: \(error)")
        }
        let report = GateReport.collect(plan: plan, loaded: loaded, store: snapshot, stored: stored)
        if json {
            Console.out(report.json.canonicalText)
        } else {
            if !report.text.isEmpty && report.missing.isEmpty { Console.out(report.text) }
        }
        if !report.missing.isEmpty {
            let names = report.missing.map { "  - \(plan.experiments.count > 1 ? $0.experiment + "/" : "")\($0.name) (\($0.shortKey))" }
            if !json {
                Console.error("check: \(report.missing.count) evaluate step(s) have no results in \(storeOptions.url.path); "
                              + "run `runner apply \(files.joined(separator: " "))` first:\n" + names.joined(separator: "\n"))
            }
            throw ExitCode(RunnerExit.invalidInput.rawValue)
        }
        if !report.failed.isEmpty { throw ExitCode(RunnerExit.gateFailed.rawValue) }
    }
}
