import Foundation
import Steps

extension SlurmExecutor {
    /// Runs `steps` on Slurm and reports in the scheduler's terms (`SchedulerEvent`, `RunSummary`),
    /// so `runner apply` shows a Slurm run with the same views and exit codes as a local one.
    ///
    /// - `unavailable`: steps whose kind cannot run (key → reason); they and everything downstream of
    ///   them are skipped, never submitted.
    /// - `cancellation`: when cancelled (SIGINT/SIGTERM), the run's jobs are cancelled.
    /// - `slurmEvent`: the Slurm-specific events (job ids, retries) for a view that wants them.
    /// - Throws: `SlurmError` for anything found before a job is submitted, or a refused submission.
    public func runAsScheduler(_ steps: [StepRequest], unavailable: [String: String] = [:], memoryMB: [String: Int] = [:],
                               cancellation: CancellationFlag = CancellationFlag(),
                               slurmEvent: @escaping (SlurmEvent) -> Void = { _ in },
                               event: @escaping (SchedulerEvent) -> Void) throws -> RunSummary {
        var summary = RunSummary()
        let order = try SlurmExecutor.topologicalOrder(steps)
        let byKey = Dictionary(uniqueKeysWithValues: order.map { ($0.key, $0) })

        // Unavailable kinds and their descendants never reach Slurm.
        var notRun: [String: SkipReason] = [:]
        for step in order {
            if let why = unavailable[step.key] {
                notRun[step.key] = .unavailable(why)
            } else if let input = step.inputs.values.sorted().first(where: { notRun[$0] != nil }) {
                notRun[step.key] = .inputNotRun(byKey[input]?.name ?? input)
            }
        }
        for step in order { if let reason = notRun[step.key] { summary.skipped[step.key] = reason; event(.skipped(step, reason: reason)) } }
        let toRun = order.filter { notRun[$0.key] == nil }

        let clock = SystemTime()
        let began = clock.now()
        var startedAt: [String: Double] = [:]
        let lock = NSLock()
        func started(_ step: StepRequest) {
            if startedAt[step.key] == nil { startedAt[step.key] = clock.now(); event(.started(step)) }
        }
        func elapsed(_ key: String) -> Double { startedAt[key].map { clock.now() - $0 } ?? 0 }

        // The Slurm executor reports on its own thread (the caller's); views receive scheduler events in order.
        let forward: (SlurmEvent) -> Void = { slurm in
            lock.lock(); defer { lock.unlock() }
            slurmEvent(slurm)
            switch slurm {
            case .stateChanged(let key, _, _, let state, _):
                if let step = byKey[key], state == .running || state == .completing { started(step) }
            case .progress(let key, let done, let total, let message):
                if let step = byKey[key] { started(step); event(.progress(step, done: done, total: total, message: message)) }
            case .succeeded(let key, _, _):
                if let step = byKey[key] { started(step); event(.finished(step, duration: elapsed(key))) }
            case .failed(let key, _, _, let message, let logPath):
                if let step = byKey[key] { event(.failed(step, message: message, logPath: logPath)) }
            case .cancelledUpstreamFailed(let key, _, let upstream, _):
                if let step = byKey[key] { event(.skipped(step, reason: .inputFailed(upstream))) }
            case .stopped(let key, _, _):
                if let step = byKey[key] {
                    if startedAt[key] != nil { event(.stopped(step, duration: elapsed(key))) } else { event(.skipped(step, reason: .cancelled)) }
                }
            case .cached, .adopted, .submitted, .retrying, .notRunning:
                break
            }
        }
        let inner = SlurmExecutor(store: store, experiment: experiment, runner: runner, options: options, client: client,
                                  stepCommand: stepCommand, onEvent: forward)
        inner.queueOutageTolerance = queueOutageTolerance
        inner.experimentNames = experimentNames
        cancellation.onCancel { inner.cancelAll() }
        let result = try inner.run(toRun, memoryMB: memoryMB)

        summary.succeeded = result.succeeded + result.cached
        summary.failed = result.failed.keys.sorted()
        for (key, upstream) in result.cancelled { summary.skipped[key] = .inputFailed(upstream) }
        for key in result.stopped {
            if startedAt[key] != nil { summary.stopped.append(key) } else { summary.skipped[key] = .cancelled }
        }
        summary.cancelled = cancellation.isCancelled
        summary.duration = clock.now() - began
        return summary
    }
}
