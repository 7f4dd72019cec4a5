import Foundation
import Phantoms
import Spec
import Store

/// `split`: a deterministic, stratified train/val/test split of the phantoms the clean step
/// accepted (its `data` input), from the statistics in its cleaning report. Writes `split.json`:
/// ids per part, the strata table (`runner show split` prints it) and the bin edges used.
public struct SplitStep: StepImplementation {
    public static let kind = StepKind.split
    public static let codeVersion = 1
    public static let fileName = "split.json"
    public init() {}

    public func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        let spec = try DataParams.decode(SplitSpec.self, request.params, step: .split)
        let config = try DataParams.splitConfig(spec)
        let input = try DataParams.input(context, role: "data", step: .split)
        guard let digest = input.files[CleanStep.reportName] else {
            throw StepError("split: the data input has no \(CleanStep.reportName) (is it the clean step's output?)")
        }
        let report: JSONValue
        do { report = try JSONValue(jsonData: Data(contentsOf: context.objectPath(digest))) } catch {
            throw StepError("split: cannot read \(CleanStep.reportName): \(error)")
        }
        let stats = try Self.stats(report)
        guard !stats.isEmpty else {
            throw StepError("split: no phantoms to split (the clean step accepted none; see its report for the reasons)")
        }
        let split: Split
        do { split = try Stratify.split(stats, config: config) } catch let error as SplitError {
            throw StepError(error.description)
        }
        // An empty part would only fail later, in training or evaluation, with a vaguer message.
        let ratio = Dictionary(zip(config.parts, config.ratios), uniquingKeysWith: { a, _ in a })
        if let empty = zip(split.parts, split.ids).first(where: { $0.1.isEmpty && ratio[$0.0, default: 0] > 0 })?.0 {
            throw StepError("split: the \(empty) part is empty (\(stats.count) phantoms accepted): use more phantoms or other ratios")
        }
        let document = Self.document(split, spec: spec)
        try DataParams.writeJSON(document, to: context.outputDirectory.appendingPathComponent(Self.fileName))
        var summary: [String: JSONValue] = ["strata": DataParams.int(split.strata.count)]
        for (part, ids) in zip(split.parts, split.ids) { summary[part] = DataParams.int(ids.count) }
        return StepResult(summary: .object(summary))
    }

    /// Accepted ids with their statistics, from the cleaning report.
    static func stats(_ report: JSONValue) throws -> [Int: PhantomStats] {
        guard case .array(let accepted)? = report[path: "accepted"], case .object(let table)? = report[path: "stats"] else {
            throw StepError("split: \(CleanStep.reportName) lacks 'accepted' or 'stats'")
        }
        var out: [Int: PhantomStats] = [:]
        for item in accepted {
            guard case .number(let d) = item, let id = Int(exactly: d) else { throw StepError("split: bad id \(item) in \(CleanStep.reportName)") }
            guard case .object(let s)? = table[String(id)],
                  case .number(let count)? = s["tumour_count"], case .number(let volume)? = s["tumour_volume"],
                  case .number(let mua)? = s["healthy_mua"], case .number(let musp)? = s["healthy_musp"],
                  case .number(let coverage)? = s["tissue_coverage"], case .number(let voxels)? = s["voxels"] else {
                throw StepError("split: \(CleanStep.reportName) has no complete statistics for phantom \(id)")
            }
            out[id] = PhantomStats(tumourCount: Int(count), tumourVolume: Int(volume), healthyMua: mua, healthyMusp: musp,
                                   tissueCoverage: coverage, voxels: Int(voxels))
        }
        return out
    }

    /// The split artifact: `{"parts": {"train": [ids…], …}, "order": [...], "strata": [{label, total, counts}], …}`.
    static func document(_ split: Split, spec: SplitSpec) -> JSONValue {
        var parts: [String: JSONValue] = [:]
        for (part, ids) in zip(split.parts, split.ids) { parts[part] = .array(ids.map(DataParams.int)) }
        let strata: [JSONValue] = split.strata.map { s in
            var counts: [String: JSONValue] = [:]
            for (part, n) in zip(split.parts, s.counts) { counts[part] = DataParams.int(n) }
            return .object(["label": .string(s.label), "total": DataParams.int(s.total), "counts": .object(counts)])
        }
        return .object([
            "parts": .object(parts),
            "order": .array(split.parts.map(JSONValue.string)),
            "strata": .array(strata),
            "bin_edges": .object(split.binEdges.mapValues { .array($0.map(JSONValue.number)) }),
            "stratify_by": .array(spec.stratifyBy.map { .string($0.rawValue) }),
            "ratios": .object(["train": .number(spec.ratios.train), "val": .number(spec.ratios.val), "test": .number(spec.ratios.test)]),
            "seed": DataParams.int(spec.seed),
        ])
    }
}

/// The strata table of a `split.json` as text, for `runner show split`: one row per stratum, a
/// column per part, and a total row.
public enum SplitTable {
    public static func render(_ document: JSONValue) throws -> String {
        guard case .array(let order)? = document[path: "order"], case .array(let strata)? = document[path: "strata"] else {
            throw StepError("split.json lacks 'order' or 'strata'")
        }
        let parts = order.compactMap { if case .string(let s) = $0 { return s }; return nil }
        func count(_ v: JSONValue?) -> Int { if case .number(let d)? = v { return Int(d) }; return 0 }
        var rows: [[String]] = [["stratum"] + parts + ["total"]]
        var totals = [Int](repeating: 0, count: parts.count)
        for s in strata {
            guard case .string(let label)? = s[path: "label"], case .object(let counts)? = s[path: "counts"] else { continue }
            let cells = parts.map { count(counts[$0]) }
            for (i, c) in cells.enumerated() { totals[i] += c }
            rows.append([label] + cells.map(String.init) + [String(count(s[path: "total"]))])
        }
        rows.append(["all"] + totals.map(String.init) + [String(totals.reduce(0, +))])
        let widths = (0..<rows[0].count).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { c, cell in
                c == 0 ? cell.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
