import Foundation
import Store

/// Text renderings of a plan's DAG for Graphviz and Mermaid. Pure: they return text; the CLI prints.
public enum GraphFormat: String, CaseIterable, Sendable { case dot, mermaid }

extension Plan {
    public func graphText(_ format: GraphFormat) -> String {
        switch format {
        case .dot: return dotText()
        case .mermaid: return mermaidText()
        }
    }

    /// Graphviz: one box per step (name, short key, status), an edge per input labelled with its
    /// role unless the role is just the producer's name.
    public func dotText() -> String {
        var out = "digraph plan {\n  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n"
        for step in steps {
            let label = "\(displayName(step))\\n\(step.shortKey) · \(step.status.rawValue)"
            out += "  \"\(step.key)\" [label=\"\(Plan.dotEscape(label))\", fillcolor=\"\(Plan.fill[step.status]!)\"];\n"
        }
        let names = Dictionary(steps.map { ($0.key, $0.name) }, uniquingKeysWith: { a, _ in a })
        for step in steps {
            for (role, input) in step.inputs.sorted(by: { $0.key < $1.key }) {
                let label = role == names[input] ? "" : " [label=\"\(Plan.dotEscape(role))\"]"
                out += "  \"\(input)\" -> \"\(step.key)\"\(label);\n"
            }
        }
        return out + "}\n"
    }

    /// Mermaid flowchart with one class per status.
    public func mermaidText() -> String {
        var out = "flowchart LR\n"
        var ids: [String: String] = [:]
        for (i, step) in steps.enumerated() {
            let id = "s\(i)"
            ids[step.key] = id
            out += "  \(id)[\"\(Plan.mermaidEscape(displayName(step)))<br/>\(step.shortKey) · \(step.status.rawValue)\"]:::\(step.status.rawValue)\n"
        }
        let names = Dictionary(steps.map { ($0.key, $0.name) }, uniquingKeysWith: { a, _ in a })
        for step in steps {
            for (role, input) in step.inputs.sorted(by: { $0.key < $1.key }) {
                guard let from = ids[input], let to = ids[step.key] else { continue }
                out += role == names[input] ? "  \(from) --> \(to)\n" : "  \(from) -->|\(Plan.mermaidEscape(role))| \(to)\n"
            }
        }
        for status in PlanStepStatus.allCases { out += "  classDef \(status.rawValue) fill:\(Plan.fill[status]!)\n" }
        return out
    }

    func displayName(_ step: PlannedStep) -> String {
        experiments.count > 1 ? "\(step.experiment): \(step.name)" : step.name
    }

    static let fill: [PlanStepStatus: String] = [.new: "#c8e6c9", .changed: "#ffe0b2", .cached: "#eeeeee"]

    static func dotEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "\"", with: "\\\"")
    }

    static func mermaidEscape(_ s: String) -> String {
        s.replacingOccurrences(of: "\"", with: "#quot;").replacingOccurrences(of: "|", with: "#124;")
    }
}
