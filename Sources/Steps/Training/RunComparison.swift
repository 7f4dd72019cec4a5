import Foundation

/// Metric-by-metric comparison of a run's recorded final metrics with a re-run's (`runner reproduce`).
public struct RunComparison: Equatable, Sendable {
    public enum Status: String, Sendable, Comparable {
        /// Same bits (or both NaN).
        case identical
        /// |a − b| ≤ tolerance × max(|a|, |b|).
        case withinTolerance = "within tolerance"
        /// Farther apart, or present on one side only.
        case different

        private var rank: Int { self == .identical ? 0 : self == .withinTolerance ? 1 : 2 }
        public static func < (a: Status, b: Status) -> Bool { a.rank < b.rank }
    }

    public struct Row: Equatable, Sendable {
        public var metric: String
        public var recorded: Double?
        public var reproduced: Double?
        public var status: Status
        /// reproduced − recorded, when both exist.
        public var difference: Double? {
            guard let a = recorded, let b = reproduced else { return nil }
            return b - a
        }
    }

    public var rows: [Row]
    public var tolerance: Double
    /// The worst row's status (identical when there are no rows… which `compare` never returns).
    public var verdict: Status { rows.map(\.status).max() ?? .identical }

    /// Compares every metric present on either side, in name order.
    public static func compare(recorded: [String: Double], reproduced: [String: Double], tolerance: Double) -> RunComparison {
        let names = Set(recorded.keys).union(reproduced.keys).sorted()
        let rows = names.map { name -> Row in
            let a = recorded[name], b = reproduced[name]
            return Row(metric: name, recorded: a, reproduced: b, status: status(a, b, tolerance: tolerance))
        }
        return RunComparison(rows: rows.isEmpty ? [Row(metric: "(no metrics)", recorded: nil, reproduced: nil, status: .different)] : rows,
                             tolerance: tolerance)
    }

    static func status(_ a: Double?, _ b: Double?, tolerance: Double) -> Status {
        guard let a, let b else { return .different }
        if a.bitPattern == b.bitPattern || (a.isNaN && b.isNaN) { return .identical }
        if a.isFinite && b.isFinite && abs(a - b) <= tolerance * max(abs(a), abs(b)) { return .withinTolerance }
        return .different
    }

    /// The diff table: metric, recorded, reproduced, difference, status.
    public var table: String {
        func f(_ x: Double?) -> String { x.map { String(format: "%.9g", $0) } ?? "—" }
        var lines: [[String]] = [["metric", "recorded", "reproduced", "difference", "status"]]
        for r in rows { lines.append([r.metric, f(r.recorded), f(r.reproduced), r.difference.map { String(format: "%+.3g", $0) } ?? "—", r.status.rawValue]) }
        let widths = lines[0].indices.map { c in lines.map { $0[c].count }.max()! }
        return lines.map { row in
            row.enumerated().map { c, cell in c == row.count - 1 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
