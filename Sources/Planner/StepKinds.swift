/// The step kinds the planner puts into a graph. Raw values are those of `Steps.StepKind`
/// (Planner does not import Steps); `codeVersion` is the per-kind version that enters every
/// content key of the kind. The Steps registry must agree with `PlanStepKind.codeVersions`:
/// RunnerCLITests checks that every `StepImplementation` reports the same version.
public enum PlanStepKind: String, Codable, CaseIterable, Sendable, Comparable {
    case generate, ingest, clean, split, train, evaluate, report

    /// Bump the kind's number here *and* in its `StepImplementation.codeVersion` when a change
    /// of the implementation changes its output; every key of the kind changes with it.
    public var codeVersion: Int {
        switch self {
        case .generate: return 1
        case .ingest: return 1
        case .clean: return 1
        case .split: return 1
        case .train: return 1
        case .evaluate: return 2
        case .report: return 1
        }
    }

    /// `kind raw value → code version`, the table the Steps registry is checked against.
    public static var codeVersions: [String: Int] {
        Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue, $0.codeVersion) })
    }

    /// Position in the pipeline; views group and order steps by it.
    public var stage: Int { PlanStepKind.allCases.firstIndex(of: self)! }

    public static func < (a: PlanStepKind, b: PlanStepKind) -> Bool { a.stage < b.stage }
}
