import Steps

/// Why the scheduler did not run a step.
public enum SkipReason: Sendable, Equatable, CustomStringConvertible {
    /// An input step failed (named by its human name).
    case inputFailed(String)
    /// An input step did not run (skipped, stopped or unavailable).
    case inputNotRun(String)
    /// `--fail-fast`: another step failed, so nothing new was launched.
    case failFast
    /// The run was cancelled (SIGINT/SIGTERM) before this step started.
    case cancelled
    /// The step's kind cannot run yet (e.g. "not implemented yet: training arrives with issue 4").
    case unavailable(String)

    public var description: String {
        switch self {
        case .inputFailed(let name): return "not run: input \(name) failed"
        case .inputNotRun(let name): return "not run: input \(name) did not run"
        case .failFast: return "not run: another step failed (--fail-fast)"
        case .cancelled: return "not run: cancelled"
        case .unavailable(let why): return why
        }
    }
}

/// Progress of a run, as typed events; only views print them.
public enum SchedulerEvent: Sendable, Equatable {
    case started(StepRequest)
    case progress(StepRequest, done: Int, total: Int, message: String)
    /// The step succeeded after `duration` seconds.
    case finished(StepRequest, duration: Double)
    case failed(StepRequest, message: String, logPath: String?)
    /// The step was running and stopped on request (SIGINT/SIGTERM); it re-runs on the next apply.
    case stopped(StepRequest, duration: Double)
    case skipped(StepRequest, reason: SkipReason)
}

/// What happened to every step of a run.
public struct RunSummary: Sendable, Equatable {
    public var succeeded: [String] = []
    public var failed: [String] = []
    public var stopped: [String] = []
    public var skipped: [String: SkipReason] = [:]
    /// True when the run was cancelled by a signal.
    public var cancelled = false
    /// Wall-clock seconds from the first launch to the last exit.
    public var duration: Double = 0

    public init() {}

    public var allSucceeded: Bool { failed.isEmpty && stopped.isEmpty && skipped.isEmpty && !cancelled }
}
