import ArgumentParser
import Foundation
import Planner
import Spec
import Steps
import Store

/// `runner report FILE… [-o report.html] [--open-path]`: (re)writes an experiment's report.html
/// (and report.json beside it) from the results in the store, without training anything.
/// Results that are absent are invalid input (exit 1) naming the steps that have not run.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write report.html for experiments from the stored results (trains nothing).",
        discussion: """
        The page is self-contained (inline CSS and SVG, no network): variants ranked by the primary
        metric with 95% CIs over seeds, paired comparisons with the baseline, learning curves and
        central slices. report.json beside it holds every number. With several experiment files,
        -o names a directory and each report is <experiment>.report.html. See docs/report.md.
        Exit codes: 0 written · 1 invalid input or results missing (run `runner apply` first) · 2 usage.
        """)

    @Argument(help: ArgumentHelp("Experiment files.", valueName: "FILE")) var files: [String]
    @OptionGroup var storeOptions: StoreOptions
    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Where to write the report (default: report.html).", valueName: "PATH"))
    var output: String?
    @Flag(name: .customLong("open-path"), help: "Print only the report's absolute path (for `xdg-open \"$(runner report … --open-path)\"`).")
    var openPath = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give one or more experiment files") }
    }

    func run() throws {
        let loaded = try ExperimentLoading.load(paths: files)
        let inputs = try ExperimentLoading.gather(loaded)
        let store = try storeOptions.openExisting()
        let plan: Plan
        do {
            plan = try Planner.plan(inputs, store: store, cores: CoreBudget(total: 1), host: HostIdentity.current.name)
        } catch let error as PlannerError {
            throw CLIFailure(.invalidInput, "report: \(error)")
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for experiment in loaded {
            let name = experiment.experiment.name
            let target: URL
            if loaded.count == 1 {
                target = URL(fileURLWithPath: output ?? ReportStep.htmlName, relativeTo: cwd).standardizedFileURL
            } else {
                target = URL(fileURLWithPath: output ?? ".", relativeTo: cwd).standardizedFileURL.appendingPathComponent("\(name).report.html")
            }
            let header = ReportHeader(experiment: name, description: experiment.experiment.description.isEmpty ? nil : experiment.experiment.description,
                                      date: Date(), host: HostIdentity.current.name)
            let written = try Self.write(experiment: name, plan: plan, store: store, header: header, to: target)
            Console.out(openPath ? target.path : "report: \(target.path) (\(written.analysis.ranked.count) variants, \(written.bytes / 1024) KB; numbers in \(written.json.lastPathComponent))")
        }
    }

    /// Renders the report of `experiment` in `plan` from the store into `target` (report.json
    /// beside it, named after it). Fails with invalid input naming the steps without results.
    @discardableResult
    static func write(experiment: String, plan: Plan, store: RunnerStore, header: ReportHeader, to target: URL) throws -> ReportStep.Written {
        guard let step = plan.steps.first(where: { $0.experiment == experiment && $0.kind == .report }) else {
            throw CLIFailure(.invalidInput, "report: the plan of \(experiment) has no report step")
        }
        let names = Dictionary(plan.steps.filter { $0.experiment == experiment }.map { ($0.key, $0.name) }, uniquingKeysWith: { a, _ in a })
        var trees: [String: ArtifactTree] = [:]
        var missing: [String] = []
        for (role, key) in step.inputs.sorted(by: { $0.key < $1.key }) {
            if let record = try? store.record(key), record.status == .succeeded {
                trees[role] = record.output
            } else {
                missing.append(names[key] ?? role)
            }
        }
        if !missing.isEmpty {
            throw CLIFailure(.invalidInput, "report: \(experiment) has no results yet for \(missing.count) step(s): \(missing.joined(separator: ", "))\n"
                             + "  run `runner apply` on the experiment first (`runner plan` shows what would run)")
        }
        let params: ReportParams
        do { params = try step.params.decode(ReportParams.self) } catch {
            throw CLIFailure(.invalidInput, "report: the report step's parameters \(step.params.canonicalText) are not understood: \(error)")
        }
        let fm = FileManager.default
        let directory = target.deletingLastPathComponent()
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw CLIFailure(.invalidInput, "report: cannot create \(directory.path): \(error.localizedDescription)")
        }
        // Render into a scratch directory beside the target, then move both files into place.
        let scratch = directory.appendingPathComponent(".report-\(UUID().uuidString.prefix(8))")
        defer { try? fm.removeItem(at: scratch) }
        var written: ReportStep.Written
        do {
            try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
            written = try ReportStep.write(params: params, inputs: trees, objectPath: { try store.objects.path(of: $0) }, header: header, to: scratch)
        } catch let error as StepError {
            throw CLIFailure(.invalidInput, error.description)
        } catch {
            throw CLIFailure(.invalidInput, "report: \(error)")
        }
        let stem = target.deletingPathExtension().lastPathComponent
        let jsonTarget = directory.appendingPathComponent(stem == "report" ? ReportStep.jsonName : "\(stem).json")
        for (from, to) in [(written.html, target), (written.json, jsonTarget)] {
            // rename(2) replaces an existing file atomically (FileManager.replaceItemAt does not on Linux).
            if rename(from.path, to.path) != 0 {
                throw CLIFailure(.invalidInput, "report: cannot write \(to.path): \(String(cString: strerror(errno)))")
            }
        }
        written.html = target
        written.json = jsonTarget
        return written
    }

    /// After an apply: writes `<store>/reports/<experiment>.html` for every experiment of `plan`
    /// whose report step succeeded, and returns one `report: PATH` line each (what apply prints).
    static func publish(plan: Plan, store: RunnerStore) -> [String] {
        var lines: [String] = []
        for step in plan.steps where step.kind == .report {
            guard let record = try? store.record(step.key), record.status == .succeeded else { continue }
            let target = store.root.appendingPathComponent("reports").appendingPathComponent("\(step.experiment).html")
            // A cached report step was published by the apply that ran it: a no-op apply writes nothing.
            if step.action == .cached, FileManager.default.fileExists(atPath: target.path) {
                lines.append("report: \(target.path)")
                continue
            }
            do {
                try write(experiment: step.experiment, plan: plan, store: store,
                          header: ReportHeader(experiment: step.experiment, date: Date(), host: HostIdentity.current.name), to: target)
                lines.append("report: \(target.path)")
            } catch let failure as CLIFailure {
                lines.append("report of \(step.experiment) not written: \(failure.message)")
            } catch {
                lines.append("report of \(step.experiment) not written: \(error)")
            }
        }
        return lines
    }
}
