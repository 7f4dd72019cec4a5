import Store

/// A finished step's summary (its `ArtifactTree.summary`) in one short line for the apply views:
/// numbers and short words, nested counts in parentheses; fingerprints and long text left out.
/// `{"accepted": 22, "rejected": 2, "reasons": {"coverage": 2}}` → `accepted 22, rejected 2, reasons (coverage 2)`.
enum StepSummaryText {
    static func line(_ summary: JSONValue) -> String? {
        guard case .object(let fields) = summary else { return nil }
        let parts = fields.keys.sorted().compactMap { key in value(fields[key]!).map { "\(key.replacingOccurrences(of: "_", with: " ")) \($0)" } }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    private static func value(_ v: JSONValue) -> String? {
        switch v {
        case .number(let x): return number(x)
        case .bool(let b): return b ? "yes" : "no"
        case .string(let s): return s.count <= 16 && !s.contains(" ") ? s : nil
        case .object(let fields):
            let inner = fields.keys.sorted().compactMap { key -> String? in
                if case .number(let x) = fields[key]! { return "\(key) \(number(x))" } else { return nil }
            }
            return inner.isEmpty ? nil : "(" + inner.joined(separator: ", ") + ")"
        default: return nil
        }
    }

    /// Counts print exactly; measurements with 4 significant digits (a line to read, not to parse:
    /// `--json` carries full precision).
    static func number(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return String(format: "%.4g", x)
    }
}
