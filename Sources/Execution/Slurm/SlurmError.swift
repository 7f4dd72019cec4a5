import Foundation

/// What can go wrong talking to Slurm. Every case says where, what and why, for the user.
public enum SlurmError: Error, Equatable, CustomStringConvertible {
    /// A Slurm command (`sbatch`, `squeue`, …) is not on PATH.
    case notInstalled(command: String, path: String)
    /// `scontrol ping` did not find a controller answering.
    case controllerDown(detail: String)
    /// `sinfo -h -p NAME` lists nothing.
    case unknownPartition(String)
    /// An option value Slurm would reject or the runner cannot use.
    case invalidOption(name: String, value: String, reason: String)
    /// The store is not on an absolute path or cannot be written (jobs on other nodes must find it).
    case unusableStore(path: String, reason: String)
    /// sbatch refused a job before anything else was submitted.
    case submissionRejected(step: String, message: String)
    /// sbatch refused a job after others were submitted; those were cancelled (`scancel`).
    case submissionFailedAfterOthers(step: String, message: String, cancelledJobIds: [String])
    /// A Slurm command failed in a way that is not about one job.
    case commandFailed(command: String, status: Int32, stderr: String)
    /// A Slurm command printed something the parser does not understand.
    case unparsableOutput(command: String, detail: String)

    public var description: String {
        switch self {
        case .notInstalled(let command, let path):
            return "Slurm is not reachable: '\(command)' is not on PATH (\(path)); install the Slurm client tools or use --executor local"
        case .controllerDown(let detail):
            return "Slurm is not reachable: the controller does not answer 'scontrol ping' (\(detail))"
        case .unknownPartition(let name):
            return "Slurm partition '\(name)' does not exist ('sinfo -h -p \(name)' lists nothing); 'sinfo -s' shows the partitions"
        case .invalidOption(let name, let value, let reason):
            return "Slurm option \(name) '\(value)': \(reason)"
        case .unusableStore(let path, let reason):
            return "store \(path) cannot be used with Slurm: \(reason)"
        case .submissionRejected(let step, let message):
            return "sbatch rejected step \(step): \(message); nothing was submitted"
        case .submissionFailedAfterOthers(let step, let message, let cancelled):
            let list = cancelled.isEmpty ? "none" : cancelled.joined(separator: ", ")
            return "sbatch rejected step \(step): \(message); the jobs already submitted were cancelled: \(list)"
        case .commandFailed(let command, let status, let stderr):
            return "'\(command)' failed with status \(status): \(stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .unparsableOutput(let command, let detail):
            return "unexpected output from '\(command)': \(detail)"
        }
    }
}
