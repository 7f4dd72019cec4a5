import Foundation
import Steps

/// How a launched step ended, as its executor saw it.
public enum StepOutcome: Sendable, Equatable {
    /// The step process exited 0: its record is in the store.
    case succeeded
    /// The step failed (non-zero exit, crash, rejected job). `message` is meant for the user
    /// (usually the last lines of the log); `logPath` points at the whole log when there is one.
    case failed(message: String, logPath: String?)
    /// The step stopped because it was asked to (SIGINT/SIGTERM, `scancel`); what it finished is kept
    /// and the next apply continues from there.
    case stopped
}

/// What an executor reports about the steps it launched.
public enum ExecutorEvent: Sendable, Equatable {
    case progress(key: String, done: Int, total: Int, message: String)
    case exited(key: String, StepOutcome)
}

/// Runs steps somewhere (local processes, Slurm jobs) through the one entry point
/// `runner step KEY --store DIR`. The scheduler decides *when*; an executor decides *where*.
///
/// The contract:
/// - `launch` is called only after `steps/KEY/request.json` is in the store; it starts the step and
///   returns without waiting for it. A launch that cannot even start throws; the scheduler reports
///   the step as failed.
/// - `nextEvent` blocks until one of the launched steps has something to report and returns it.
///   The scheduler calls it only while at least one launched step has not yet reported `.exited`;
///   every launched step reports `.exited` exactly once.
/// - `cancelAll` may be called from any thread (a signal handler's queue): every running step is
///   asked to stop (SIGTERM to its process group, `scancel`), and each still reports `.exited`
///   (usually `.stopped`) through `nextEvent`.
public protocol StepExecutor: AnyObject {
    func launch(_ request: StepRequest) throws
    func nextEvent() -> ExecutorEvent
    func cancelAll()
}

/// A thread-safe "stop now" flag shared by the CLI's signal handling, the scheduler and executors.
/// Handlers registered with `onCancel` run once, on the thread that calls `cancel()`.
public final class CancellationFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var handlers: [() -> Void] = []

    public init() {}

    public var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }

    public func cancel() {
        lock.lock()
        if cancelled { lock.unlock(); return }
        cancelled = true
        let toRun = handlers
        handlers = []
        lock.unlock()
        for handler in toRun { handler() }
    }

    /// Runs `handler` when the flag is cancelled (at once if it already is).
    public func onCancel(_ handler: @escaping () -> Void) {
        lock.lock()
        if cancelled { lock.unlock(); handler(); return }
        handlers.append(handler)
        lock.unlock()
    }
}

/// Where the scheduler reads the time (seconds, monotonic). Tests inject a fake one.
public protocol TimeSource: AnyObject {
    func now() -> Double
}

/// The real monotonic clock.
public final class SystemTime: TimeSource {
    public init() {}
    public func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
