import ArgumentParser
import Foundation
import Spec
import Store

/// `runner runs`: the runs of a store (runs/*/manifest.json) as a table or JSON, filtered and sorted.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs of the store (runs/<run-id>/manifest.json).",
        discussion: """
        Metric names are a manifest's final metrics (`test.rmse`) or the evaluate section's names (`rmse`, \
        looked up in the run's evaluated split). Without --metric the table shows rmse, ssim and psnr. \
        --sort orders by a metric, best first (lowest rmse/mae, highest ssim/psnr); runs without it last. \
        A manifest that cannot be read is named on stderr and left out. Exit codes: 0 · 1 no store.
        """)

    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Only runs of this experiment.") var experiment: String?
    @Option(help: "Only runs of this variant.") var variant: String?
    @Option(name: .customLong("metric"), help: ArgumentHelp("A metric column (repeatable); runs without any of them are left out.", valueName: "METRIC"))
    var metrics: [String] = []
    @Option(help: ArgumentHelp("Sort by this metric, best first (default: by finish time).", valueName: "METRIC")) var sort: String?
    @Flag(help: "Print a JSON array of runs instead of the table.") var json = false

    struct Run {
        var manifest: Manifest
        var path: String
    }

    func run() throws {
        let store = try storeOptions.openExisting()
        var runs: [Run] = []
        for id in try store.runIDs() {
            do {
                guard let manifest = try store.manifest(runID: id) else { continue }
                runs.append(Run(manifest: manifest, path: try StoreLayout(root: store.root).manifest(id).path))
            } catch {
                Console.error("runs: skipping runs/\(id)/manifest.json: \(error)")
            }
        }
        if let experiment { runs = runs.filter { $0.manifest.experiment == experiment } }
        if let variant { runs = runs.filter { $0.manifest.variant == variant } }
        if !metrics.isEmpty { runs = runs.filter { run in metrics.contains { run.manifest.metric($0) != nil } } }
        runs.sort { ($0.manifest.finished ?? $0.manifest.started) < ($1.manifest.finished ?? $1.manifest.started) }
        if let sort {
            let higher = Metrics.higherIsBetter(Self.bareName(sort))
            runs.sort { a, b in
                switch (a.manifest.metric(sort), b.manifest.metric(sort)) {
                case let (x?, y?): return higher ? x > y : x < y
                case (.some, nil): return true
                default: return false
                }
            }
        }
        if json {
            Console.out(JSONValue.array(runs.map(Self.json)).canonicalText)
            return
        }
        if runs.isEmpty {
            Console.out("no runs in \(store.root.path)/runs (runner apply writes one per evaluate step)")
            return
        }
        let columns = metrics.isEmpty ? ["rmse", "ssim", "psnr"] : metrics
        var rows: [[String]] = [["run", "experiment", "variant", "seed"] + columns + ["gates", "finished (UTC)"]]
        let time = ISO8601DateFormatter()
        time.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        for run in runs {
            let m = run.manifest
            let gates = m.gates.isEmpty ? "—" : (m.gates.allSatisfy(\.passed) ? "passed" : "FAILED")
            rows.append([String(m.runID.prefix(10)), m.experiment, m.variant, String(m.seed)]
                        + columns.map { name in m.metric(name).map { String(format: "%.5g", $0) } ?? "—" }
                        + [gates, time.string(from: m.finished ?? m.started)])
        }
        Console.out(Self.table(rows))
    }

    /// `test.rmse.mua` → `rmse.mua`; names without a split prefix are returned unchanged.
    static func bareName(_ metric: String) -> String {
        for split in ["test.", "val.", "train."] where metric.hasPrefix(split) { return String(metric.dropFirst(split.count)) }
        return metric
    }

    static func json(_ run: Run) -> JSONValue {
        let m = run.manifest
        var gates: [JSONValue] = []
        for g in m.gates {
            var fields: [String: JSONValue] = ["metric": .string(g.metric), "comparison": .string(g.comparison),
                                               "threshold": .number(g.threshold), "passed": .bool(g.passed)]
            if let v = g.value { fields["value"] = .number(v) }
            if let r = g.rule { fields["rule"] = .string(r) }
            if let c = g.ciHalfWidth { fields["ci95"] = .number(c) }
            if let n = g.seeds { fields["seeds"] = .number(Double(n)) }
            gates.append(.object(fields))
        }
        var fields: [String: JSONValue] = [
            "run_id": .string(m.runID), "experiment": .string(m.experiment), "variant": .string(m.variant),
            "seed": .number(Double(m.seed)), "metrics": .object(m.finalMetrics.filter { $0.value.isFinite }.mapValues(JSONValue.number)),
            "gates": .array(gates), "manifest": .string(run.path),
            "started": .string(ISO8601DateFormatter().string(from: m.started)),
        ]
        if let f = m.finished { fields["finished"] = .string(ISO8601DateFormatter().string(from: f)) }
        if let c = m.runnerCommit { fields["runner_commit"] = .string(c) }
        return .object(fields)
    }

    /// Left-aligned columns separated by two spaces.
    static func table(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
