import Foundation
import Planner

/// The human view of a plan: steps grouped by kind (status, name, short key, why), then a
/// summary line with the steps to run and their estimated CPU time. Pure: returns text.
public struct PlanTableView {
    public var colors: Bool
    /// Reasons shown per step before "… and N more".
    public var maxReasons = 3

    public init(colors: Bool) { self.colors = colors }

    public func render(_ plan: Plan, store: String, savedTo: String? = nil) -> String {
        var lines: [String] = []
        let files = plan.experimentFiles.joined(separator: ", ")
        lines.append("Plan for \(plan.experiments.joined(separator: ", "))\(files.isEmpty ? "" : " (\(files))") against store \(store)")
        let names = plan.steps.map { displayName($0, plan) }
        let width = min(names.map(\.count).max() ?? 0, 48)
        for kind in PlanStepKind.allCases {
            let steps = plan.steps.enumerated().filter { $0.element.kind == kind }
            guard !steps.isEmpty else { continue }
            lines.append("")
            lines.append(bold(kind.rawValue))
            for (i, step) in steps {
                let name = names[i].padding(toLength: max(width, names[i].count), withPad: " ", startingAt: 0)
                let head = "  \(status(step.status)) \(name)  \(dim(step.shortKey))"
                let why = step.why.map(\.description)
                if why.isEmpty { lines.append(head); continue }
                lines.append(head + "  " + why[0])
                let indent = String(repeating: " ", count: 2 + 9 + 1 + max(width, names[i].count) + 2 + step.shortKey.count + 2)
                for reason in why.dropFirst().prefix(maxReasons - 1) { lines.append(indent + reason) }
                if why.count > maxReasons { lines.append(indent + "… and \(why.count - maxReasons) more") }
            }
        }
        lines.append("")
        lines.append(summary(plan))
        if let savedTo { lines.append("Saved to \(savedTo); `runner apply \(savedTo)` applies exactly this plan.") }
        return lines.joined(separator: "\n")
    }

    public func summary(_ plan: Plan) -> String {
        let s = plan.summary
        let new = s.byStatus["new"] ?? 0, changed = s.byStatus["changed"] ?? 0
        guard s.run > 0 else { return "Plan: nothing to run, \(s.cached) step\(s.cached == 1 ? "" : "s") cached." }
        let estimate = PlanTableView.duration(s.estimatedCPUSeconds)
        let toRun = plan.steps.filter { $0.action == .run }
        let measured = toRun.filter { $0.estimate.basis == .measured }.count
        let basis = measured == toRun.count ? " (from throughput recorded on \(plan.host))"
            : measured == 0 ? " (a guess from FLOP counts and assumed rates: no throughput recorded on \(plan.host) yet)"
            : " (partly a guess: \(toRun.count - measured) of \(toRun.count) steps have no throughput recorded on \(plan.host))"
        return "Plan: \(s.run) to run (\(new) new, \(changed) changed), \(s.cached) cached; estimated CPU time \(estimate)\(basis)."
    }

    func displayName(_ step: PlannedStep, _ plan: Plan) -> String {
        plan.experiments.count > 1 ? "\(step.experiment): \(step.name)" : step.name
    }

    func status(_ status: PlanStepStatus) -> String {
        switch status {
        case .new: return color("+ new    ", "32")
        case .changed: return color("~ changed", "33")
        case .cached: return color("= cached ", "2")
        }
    }

    func bold(_ text: String) -> String { color(text, "1") }
    func dim(_ text: String) -> String { color(text, "2") }
    func color(_ text: String, _ code: String) -> String { colors ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// `45 s`, `12 min`, `6 h 48 min`, `3 d 4 h`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(Int((seconds / 60).rounded())) min" }
        if s < 86400 { return "\(s / 3600) h \((s % 3600) / 60) min" }
        return "\(s / 86400) d \((s % 86400) / 3600) h"
    }
}
