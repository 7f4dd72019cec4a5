import ArgumentParser
import Foundation
import Planner
import Steps
import Store

/// `runner show split FILE`: the strata distribution per part, read from the split step's
/// artifact (`split.json`) of the experiment's split step in the store. Reads only.
struct ShowSplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split", abstract: "Strata distribution per part of the experiment's split (after apply).",
        discussion: "Exit 1 when the file is invalid or its split step has not run yet.")

    @Argument(help: ArgumentHelp("The experiment file.", valueName: "FILE")) var file: String
    @OptionGroup var storeOptions: StoreOptions
    @Flag(help: "Print the split artifact as JSON.") var json = false

    func run() throws {
        let inputs = try ExperimentLoading.inputs(paths: [file])
        let store = try storeOptions.openExisting()
        let plan: Plan
        do { plan = try Planner.plan(inputs, store: store, cores: CoreBudget(total: 1), host: HostIdentity.current.name) } catch {
            throw CLIFailure(.invalidInput, "show split: \(error)")
        }
        guard let step = plan.steps.first(where: { $0.kind.rawValue == StepKind.split.rawValue }) else {
            throw CLIFailure(.invalidInput, "show split: \(file) has no split step")
        }
        guard let record = try? store.record(step.key), record.status == .succeeded else {
            throw CLIFailure(.invalidInput, "show split: the split of \(file) has not run yet (step \(step.shortKey)); run `runner apply \(file)` first")
        }
        guard let digest = record.output.files[SplitStep.fileName] else {
            throw CLIFailure(.invalidInput, "show split: the split record has no \(SplitStep.fileName)")
        }
        let document: JSONValue
        do { document = try JSONValue(jsonData: store.objects.read(digest)) } catch {
            throw CLIFailure(.invalidInput, "show split: \(error)")
        }
        if json { Console.out(document.canonicalText); return }
        do {
            for line in try SplitTable.lines(document, name: step.name) { Console.out(line) }
        } catch let error as SplitTable.Malformed {
            throw CLIFailure(.invalidInput, "show split: \(SplitStep.fileName) is malformed: \(error.what)")
        }
    }
}

/// The strata table of a split artifact, one row per stratum and a total row, counts per part
/// with each part's share of the stratum.
enum SplitTable {
    struct Malformed: Error { var what: String }

    static func lines(_ doc: JSONValue, name: String) throws -> [String] {
        guard case .array(let orderValues)? = doc[path: "order"] else { throw Malformed(what: "no 'order'") }
        let order = orderValues.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
        guard case .array(let strata)? = doc[path: "strata"] else { throw Malformed(what: "no 'strata'") }
        var rows: [(label: String, counts: [Int], total: Int)] = []
        for stratum in strata {
            guard case .string(let label)? = stratum[path: "label"], case .number(let total)? = stratum[path: "total"] else {
                throw Malformed(what: "a stratum without label or total")
            }
            let counts = order.map { part -> Int in
                if case .number(let n)? = stratum[path: "counts.\(part)"] { return Int(n) } else { return 0 }
            }
            rows.append((label, counts, Int(total)))
        }
        let totals = order.indices.map { i in rows.reduce(0) { $0 + $1.counts[i] } }
        let grand = rows.reduce(0) { $0 + $1.total }

        var header = "\(name)"
        if case .array(let by)? = doc[path: "stratify_by"] {
            header += ": stratified by " + by.compactMap { if case .string(let s) = $0 { return s } else { return nil } }.joined(separator: ", ")
        }
        if case .number(let seed)? = doc[path: "seed"] { header += ", seed \(Int(seed))" }
        var ratios: [String] = []
        for part in order { if case .number(let r)? = doc[path: "ratios.\(part)"] { ratios.append("\(part) \(r)") } }
        if !ratios.isEmpty { header += " (target " + ratios.joined(separator: " / ") + ")" }

        let labelWidth = max(7, rows.map(\.label.count).max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        func cell(_ n: Int, of total: Int) -> String {
            total > 0 ? "\(n) (\(Int((Double(n) / Double(total) * 100).rounded()))%)" : "\(n)"
        }
        let widths = order.map { max($0.count, 11) }
        var out = [header, ""]
        out.append(pad("stratum", labelWidth) + "  " + zip(order, widths).map { lpad($0, $1) }.joined(separator: "  ") + "  " + lpad("total", 5))
        for row in rows {
            out.append(pad(row.label, labelWidth) + "  "
                       + zip(row.counts, widths).map { lpad(cell($0, of: row.total), $1) }.joined(separator: "  ")
                       + "  " + lpad(String(row.total), 5))
        }
        out.append(pad("all", labelWidth) + "  " + zip(totals, widths).map { lpad(cell($0, of: grand), $1) }.joined(separator: "  ")
                   + "  " + lpad(String(grand), 5))
        return out
    }
}
