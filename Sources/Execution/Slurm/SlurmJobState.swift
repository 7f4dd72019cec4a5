import Foundation

/// A Slurm job state as `squeue %T` and `scontrol show job` print it (`JobState=`).
public enum SlurmJobState: Hashable, Sendable, CustomStringConvertible {
    case pending, configuring, running, suspended, completing, requeued, resizing
    case completed, failed, cancelled, timeout, nodeFail, preempted, bootFail, deadline, outOfMemory
    /// A state this code does not know (Slurm adds some between versions); treated as still active.
    case other(String)

    public init(_ text: String) {
        // Some versions print suffixes such as "CANCELLED+" or "CANCELLED by 0"; the first word decides.
        let word = text.split(whereSeparator: { $0 == " " || $0 == "+" }).first.map(String.init) ?? text
        switch word.uppercased() {
        case "PENDING", "PD": self = .pending
        case "CONFIGURING", "CF": self = .configuring
        case "RUNNING", "R": self = .running
        case "SUSPENDED", "S": self = .suspended
        case "COMPLETING", "CG": self = .completing
        case "REQUEUED", "RQ", "REQUEUE_HOLD", "REQUEUE_FED": self = .requeued
        case "RESIZING", "RS": self = .resizing
        case "COMPLETED", "CD": self = .completed
        case "FAILED", "F": self = .failed
        case "CANCELLED", "CA": self = .cancelled
        case "TIMEOUT", "TO": self = .timeout
        case "NODE_FAIL", "NF": self = .nodeFail
        case "PREEMPTED", "PR": self = .preempted
        case "BOOT_FAIL", "BF": self = .bootFail
        case "DEADLINE", "DL": self = .deadline
        case "OUT_OF_MEMORY", "OOM": self = .outOfMemory
        default: self = .other(text)
        }
    }

    /// The job has ended and will not change state again (unless requeued by Slurm, which shows as `.requeued`/`.pending`).
    public var isFinished: Bool {
        switch self {
        case .completed, .failed, .cancelled, .timeout, .nodeFail, .preempted, .bootFail, .deadline, .outOfMemory: return true
        case .pending, .configuring, .running, .suspended, .completing, .requeued, .resizing, .other: return false
        }
    }

    public var description: String {
        switch self {
        case .pending: return "PENDING"
        case .configuring: return "CONFIGURING"
        case .running: return "RUNNING"
        case .suspended: return "SUSPENDED"
        case .completing: return "COMPLETING"
        case .requeued: return "REQUEUED"
        case .resizing: return "RESIZING"
        case .completed: return "COMPLETED"
        case .failed: return "FAILED"
        case .cancelled: return "CANCELLED"
        case .timeout: return "TIMEOUT"
        case .nodeFail: return "NODE_FAIL"
        case .preempted: return "PREEMPTED"
        case .bootFail: return "BOOT_FAIL"
        case .deadline: return "DEADLINE"
        case .outOfMemory: return "OUT_OF_MEMORY"
        case .other(let text): return text
        }
    }
}

/// What the runner knows about one job at one moment: from `squeue` while Slurm lists it,
/// from `scontrol show job` for the details of a finished one.
public struct SlurmJobStatus: Hashable, Sendable {
    public var jobId: String
    public var state: SlurmJobState
    /// `Reason=` / `%r`: why a job pends or ended (`Dependency`, `DependencyNeverSatisfied`, `NonZeroExitCode`, `TimeLimit`…); "None" when there is none.
    public var reason: String

    public init(jobId: String, state: SlurmJobState, reason: String) {
        self.jobId = jobId; self.state = state; self.reason = reason
    }

    /// Slurm cancelled (or will never start) the job because a job it depends on failed;
    /// the job itself did nothing wrong.
    public var isDependencyNeverSatisfied: Bool { reason == "DependencyNeverSatisfied" }
}
