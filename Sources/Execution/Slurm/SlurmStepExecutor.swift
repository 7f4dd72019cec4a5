import Foundation
import Steps
import Store

/// spine's `StepExecutor` on Slurm: the `Scheduler` decides when a step is ready and this submits
/// it as one job (no `afterok`: its inputs have already succeeded), then reports its progress and
/// exit through `nextEvent`, retrying failed jobs up to `options.retries` times.
///
/// `SlurmExecutor.runAsScheduler` is the better fit for a cluster (the whole graph is queued at
/// once, so Slurm can plan it); this conformance lets anything written against `StepExecutor` run
/// on Slurm unchanged. Give the scheduler a core budget as large as the share of the cluster to use.
public final class SlurmStepExecutor: StepExecutor, @unchecked Sendable {
    private struct Live {
        var request: StepRequest
        var jobId: String
        var attempt: Int
        var lastProgress: String?
        var completedWithoutRecordSince: Date?
    }

    private let jobs: SlurmExecutor
    private let memoryMB: [String: Int]
    private let lock = NSCondition()
    private var live: [String: Live] = [:]
    private var pendingEvents: [ExecutorEvent] = []
    private var stopRequested = false

    public init(store: RunnerStore, experiment: String, runner: String, options: SlurmOptions,
                client: SlurmClient = SlurmClient(), stepCommand: [String] = ["step"], memoryMB: [String: Int] = [:]) {
        jobs = SlurmExecutor(store: store, experiment: experiment, runner: runner, options: options,
                             client: client, stepCommand: stepCommand)
        self.memoryMB = memoryMB
    }

    /// The same checks as `SlurmExecutor.preflight`; call before the scheduler runs.
    public func preflight(_ steps: [StepRequest]) throws { try jobs.preflight(steps) }

    /// Seconds a COMPLETED job may wait for its record to become visible (see `SlurmExecutor`).
    public var recordVisibilityGrace: Double {
        get { jobs.recordVisibilityGrace }
        set { jobs.recordVisibilityGrace = newValue }
    }

    public func launch(_ request: StepRequest) throws {
        lock.lock(); defer { lock.unlock() }
        if stopRequested {
            pendingEvents.append(.exited(key: request.key, .stopped))
            return
        }
        let jobId = try jobs.submit(request, memoryMB: memoryMB[request.key], dependencies: [], attempt: 1, otherLiveJobs: [])
        live[request.key] = Live(request: request, jobId: jobId, attempt: 1)
    }

    public func nextEvent() -> ExecutorEvent {
        lock.lock(); defer { lock.unlock() }
        var lastGoodQueue = Date()
        while pendingEvents.isEmpty {
            _ = lock.wait(until: Date().addingTimeInterval(jobs.options.pollInterval))
            if !pendingEvents.isEmpty { break }
            let queue: [String: SlurmJobStatus]
            do {
                queue = try jobs.client.queue()
                lastGoodQueue = Date()
            } catch {
                if Date().timeIntervalSince(lastGoodQueue) <= jobs.queueOutageTolerance { continue }
                // Slurm is gone for good: every live step fails with the reason; its job stays recorded.
                for (key, job) in live {
                    pendingEvents.append(.exited(key: key, .failed(message: "job \(job.jobId): cannot follow it: \(error)", logPath: nil)))
                }
                live = [:]
                break
            }
            observe(queue)
        }
        return pendingEvents.removeFirst()
    }

    public func cancelAll() {
        lock.lock()
        stopRequested = true
        let ids = live.values.map(\.jobId)
        lock.broadcast()
        lock.unlock()
        try? jobs.client.cancel(ids)
    }

    /// Moves every live job on, queueing at most one exit per step. Called with the lock held.
    private func observe(_ queue: [String: SlurmJobStatus]) {
        let store = jobs.store
        for key in live.keys.sorted() {
            guard var job = live[key] else { continue }
            let status = queue[job.jobId]
            if let status, !status.state.isFinished {
                if status.state == .running, let line = jobs.lastProgressLine(key), line != job.lastProgress,
                   let progress = ProgressLine.decode(Substring(line)) {
                    job.lastProgress = line
                    live[key] = job
                    pendingEvents.append(.progress(key: key, done: progress.done, total: progress.total, message: progress.message))
                }
                continue
            }
            if status?.state == .completed, !store.isCached(key), (try? store.record(key)) == nil {
                let since = job.completedWithoutRecordSince ?? Date()
                job.completedWithoutRecordSince = since
                live[key] = job
                if Date().timeIntervalSince(since) < jobs.recordVisibilityGrace { continue }
            }
            if store.isCached(key) {
                live[key] = nil
                pendingEvents.append(.exited(key: key, .succeeded))
            } else if stopRequested {
                live[key] = nil
                pendingEvents.append(.exited(key: key, .stopped))
            } else {
                let why = jobs.describeFailure(of: key, jobId: job.jobId, status: status)
                if job.attempt <= jobs.options.retries,
                   let jobId = try? jobs.submit(job.request, memoryMB: memoryMB[key], dependencies: [],
                                                attempt: job.attempt + 1, otherLiveJobs: []) {
                    live[key] = Live(request: job.request, jobId: jobId, attempt: job.attempt + 1)
                } else {
                    live[key] = nil
                    pendingEvents.append(.exited(key: key, .failed(message: why, logPath: try? store.layout.log(key).path)))
                }
            }
        }
    }
}
