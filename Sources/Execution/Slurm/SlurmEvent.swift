import Foundation

/// What the Slurm executor reports while it runs; views print these (Execution never prints).
public enum SlurmEvent: Equatable, Sendable {
    /// The step's record is already in the store: never submitted.
    case cached(key: String, name: String)
    /// A job of an earlier apply for this step is still queued or running; it is followed, not resubmitted.
    case adopted(key: String, name: String, jobId: String)
    case submitted(key: String, name: String, jobId: String, attempt: Int, dependencies: [String])
    /// squeue shows a new state for a followed job (PENDING → RUNNING, …).
    case stateChanged(key: String, name: String, jobId: String, state: SlurmJobState, reason: String)
    /// The last progress line the running step wrote to its log (`{"event":"progress",…}`).
    case progress(key: String, done: Int, total: Int, message: String)
    /// The job ended without a record; it is submitted again (attempt `nextAttempt`).
    case retrying(key: String, name: String, jobId: String, why: String, nextAttempt: Int)
    case succeeded(key: String, name: String, jobId: String)
    /// The step failed and has no retries left.
    case failed(key: String, name: String, jobId: String, message: String, logPath: String)
    /// An upstream step failed for good: this one is cancelled (`scancel` if it had a job) and not run.
    case cancelledUpstreamFailed(key: String, name: String, upstream: String, jobId: String?)
    /// Stopped on request (`cancelAll`, SIGINT/SIGTERM of the runner): the job was cancelled.
    case stopped(key: String, name: String, jobId: String)
    /// Following only (`runner status`): the step has neither a record nor a job in Slurm.
    case notRunning(key: String, name: String)
}

/// How a Slurm run ended, step by step (keys).
public struct SlurmRunResult: Equatable, Sendable {
    /// Finished in this run (their records are in the store).
    public var succeeded: [String] = []
    /// Already in the store before the run; never submitted.
    public var cached: [String] = []
    /// Failed for good: key → message.
    public var failed: [String: String] = [:]
    /// Not run because an upstream step failed: key → name of the failed upstream step.
    public var cancelled: [String: String] = [:]
    public var stopped: [String] = []
    /// Following only: neither a record nor a job.
    public var notRunning: [String] = []
    /// Every job submitted or adopted in this run, by step key, oldest first.
    public var jobIds: [String: [String]] = [:]
    /// Number of sbatch calls made.
    public var submissions: Int = 0

    public init() {}

    public var allSucceeded: Bool { failed.isEmpty && cancelled.isEmpty && stopped.isEmpty && notRunning.isEmpty }
}
