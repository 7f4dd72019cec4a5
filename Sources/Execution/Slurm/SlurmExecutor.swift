import Foundation
import Steps
import Store

/// Hands a graph of steps to Slurm: every step becomes one `sbatch` job running
/// `runner step KEY --store DIR`, chained with `--dependency=afterok:…`, so Slurm sequences the graph.
///
/// - The store's records are the ground truth: a succeeded `record.json` means done, whatever Slurm
///   says; a job that ended (or vanished from Slurm) without one failed.
/// - Job ids go to `steps/KEY/slurm.json` right after each sbatch, before anything else.
/// - Failed, cancelled, timed-out, node-failed and preempted jobs are submitted again up to
///   `options.retries` times (the step resumes from its checkpoint in its scratch directory).
///   A dependant Slurm cancelled because of such an attempt (`DependencyNeverSatisfied`) is
///   resubmitted behind the new attempt without using up its own retries.
/// - When a step fails for good, its dependants are cancelled (`scancel`) and reported, never left pending.
/// - Job states come from `squeue` (and `scontrol show job` for a finished job's details); no `sacct`.
public final class SlurmExecutor: @unchecked Sendable {
    public enum Mode: Sendable {
        /// Submit what is missing, follow, retry (`runner apply --executor slurm`).
        case apply
        /// Only follow jobs already submitted (`runner status` re-attaching); submits nothing.
        case follow
    }

    public let store: RunnerStore
    public let experiment: String
    /// Absolute path of the `runner` executable as the compute nodes see it.
    public let runner: String
    /// Arguments between the runner path and the key (`["step"]`).
    public let stepCommand: [String]
    public let options: SlurmOptions
    public let client: SlurmClient
    private let onEvent: (SlurmEvent) -> Void
    private let wake = NSCondition()
    private var stopRequested = false
    /// How long squeue may keep failing (controller restarting) before the run gives up; the jobs
    /// stay recorded and `runner status` can re-attach.
    public var queueOutageTolerance: Double = 60
    /// Experiment of each step key, for job names, when a run spans several experiments
    /// (default: `experiment`).
    public var experimentNames: [String: String] = [:]
    /// Seconds a job may show COMPLETED before its record is visible here: on a shared file system
    /// a file written on a compute node can take a while to appear on the submitting host.
    public var recordVisibilityGrace: Double = 30

    public init(store: RunnerStore, experiment: String, runner: String, options: SlurmOptions,
                client: SlurmClient = SlurmClient(), stepCommand: [String] = ["step"],
                onEvent: @escaping (SlurmEvent) -> Void = { _ in }) {
        self.store = store; self.experiment = experiment; self.runner = runner; self.options = options
        self.client = client; self.stepCommand = stepCommand; self.onEvent = onEvent
    }

    /// Asks the run to stop: its live jobs are cancelled (in `.follow` mode they are left running) and it returns. Any thread.
    public func cancelAll() {
        wake.lock(); stopRequested = true; wake.broadcast(); wake.unlock()
    }

    private var isStopRequested: Bool { wake.lock(); defer { wake.unlock() }; return stopRequested }

    // MARK: state of one step during a run

    private enum State {
        /// Not submitted; `used` attempts are used up.
        case waiting(used: Int)
        case live(jobId: String, attempt: Int)
        case succeeded
        case failed
        /// Not run: upstream failed (name of the failed step).
        case cancelled(upstream: String)
        case stopped
        case notRunning
    }

    /// Checks everything that can be checked before a job is submitted: options, the runner path,
    /// the store, the graph, the cluster (commands, controller, partition).
    public func preflight(_ steps: [StepRequest]) throws {
        try options.validate()
        guard runner.hasPrefix("/") else {
            throw SlurmError.invalidOption(name: "runner executable", value: runner, reason: "must be an absolute path the compute nodes can run")
        }
        guard FileManager.default.isExecutableFile(atPath: runner) else {
            throw SlurmError.invalidOption(name: "runner executable", value: runner, reason: "is not an executable file")
        }
        _ = try SlurmExecutor.topologicalOrder(steps)
        let keys = Set(steps.map(\.key))
        for step in steps {
            for (role, input) in step.inputs.sorted(by: { $0.key < $1.key }) where !keys.contains(input) && !store.isCached(input) {
                throw SlurmError.invalidOption(name: "step \(step.name)", value: role,
                                               reason: "its input \(input.prefix(10)) is neither in this run nor recorded in the store")
            }
        }
        let probe = store.layout.steps.appendingPathComponent(".slurm-write-check-\(getpid())")
        do {
            try AtomicFile.write(Data("ok\n".utf8), to: probe)
            try FileManager.default.removeItem(at: probe)
        } catch {
            throw SlurmError.unusableStore(path: store.root.path, reason: "cannot write into it (\(error))")
        }
        try client.preflight(partition: options.partition)
    }

    /// Runs (or, in `.follow` mode, follows) the steps until every one has succeeded, failed for good,
    /// been cancelled, or the run is stopped. Steps whose inputs are outside `steps` must be in the store.
    /// - Parameter memoryMB: memory estimate per step key, for `--mem`.
    /// - Throws: `SlurmError` for anything found before a job is submitted (nothing is submitted then),
    ///   and for a submission refused later (every live job of the run is cancelled first).
    public func run(_ steps: [StepRequest], memoryMB: [String: Int] = [:], mode: Mode = .apply) throws -> SlurmRunResult {
        if mode == .apply { try preflight(steps) } else { _ = try SlurmExecutor.topologicalOrder(steps) }
        let order = try SlurmExecutor.topologicalOrder(steps)
        let index = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1.key, $0) })
        let upstream: [[Int]] = order.map { step in step.inputs.values.compactMap { index[$0] }.sorted() }
        var result = SlurmRunResult()
        var states = [State](repeating: .waiting(used: 0), count: order.count)
        var lastSeen: [String: SlurmJobStatus] = [:]
        var lastProgress: [String: String] = [:]
        var completedWithoutRecord: [String: Date] = [:]

        // Where each step stands now: recorded, still in Slurm from an earlier apply, or to submit.
        var queue = try client.queue()
        for (i, step) in order.enumerated() {
            if store.isCached(step.key) {
                states[i] = .succeeded
                result.cached.append(step.key)
                onEvent(.cached(key: step.key, name: step.name))
            } else if let jobId = try SlurmJobRecord.load(store: store.layout, key: step.key)?.latestJobId,
                      let status = queue[jobId], !status.state.isFinished {
                states[i] = .live(jobId: jobId, attempt: 1)
                result.jobIds[step.key, default: []].append(jobId)
                onEvent(.adopted(key: step.key, name: step.name, jobId: jobId))
            } else if mode == .follow {
                states[i] = .notRunning
                result.notRunning.append(step.key)
                onEvent(.notRunning(key: step.key, name: step.name))
            } else if try store.request(step.key) == nil {
                try store.writeRequest(StepRequestRecord(key: step.key, kind: step.kind.rawValue, name: step.name,
                                                         params: step.params, inputs: step.inputs, cores: step.cores))
            }
        }

        func liveJobIds() -> [String] {
            states.compactMap { if case .live(let jobId, _) = $0 { return jobId } else { return nil } }
        }

        // Cancels dependants of failed steps, submits every waiting step whose inputs are done or queued.
        func advance() throws {
            for (i, step) in order.enumerated() {
                let failedUpstream = upstream[i].lazy.compactMap { j -> String? in
                    switch states[j] {
                    case .failed, .stopped, .notRunning: return order[j].name
                    case .cancelled(let name): return name
                    default: return nil
                    }
                }.first
                switch states[i] {
                case .live(let jobId, _) where failedUpstream != nil:
                    try? client.cancel([jobId])
                    states[i] = .cancelled(upstream: failedUpstream!)
                    result.cancelled[step.key] = failedUpstream!
                    onEvent(.cancelledUpstreamFailed(key: step.key, name: step.name, upstream: failedUpstream!, jobId: jobId))
                case .waiting where failedUpstream != nil:
                    states[i] = .cancelled(upstream: failedUpstream!)
                    result.cancelled[step.key] = failedUpstream!
                    onEvent(.cancelledUpstreamFailed(key: step.key, name: step.name, upstream: failedUpstream!, jobId: nil))
                case .waiting(let used) where mode == .apply:
                    var dependencies: [String] = []
                    var ready = true
                    for j in upstream[i] {
                        switch states[j] {
                        case .succeeded: break
                        case .live(let jobId, _): dependencies.append(jobId)
                        default: ready = false
                        }
                    }
                    guard ready else { continue }
                    let jobId = try submit(step, memoryMB: memoryMB[step.key], dependencies: dependencies,
                                           attempt: used + 1, otherLiveJobs: liveJobIds())
                    states[i] = .live(jobId: jobId, attempt: used + 1)
                    result.submissions += 1
                    result.jobIds[step.key, default: []].append(jobId)
                    onEvent(.submitted(key: step.key, name: step.name, jobId: jobId, attempt: used + 1, dependencies: dependencies))
                default: break
                }
            }
        }

        // Reads squeue once and moves every live step on.
        func observe(_ queue: [String: SlurmJobStatus]) throws {
            for (i, step) in order.enumerated() {
                guard case .live(let jobId, let attempt) = states[i] else { continue }
                let status = queue[jobId]
                if let status, !status.state.isFinished {
                    if status.state == .pending && status.isDependencyNeverSatisfied {
                        // A cluster without kill_invalid_depend: cancel it ourselves, then treat as below.
                        try? client.cancel([jobId])
                        states[i] = .waiting(used: attempt - 1)
                    } else if lastSeen[jobId].map({ $0.state != status.state || $0.reason != status.reason }) ?? true {
                        onEvent(.stateChanged(key: step.key, name: step.name, jobId: jobId, state: status.state, reason: status.reason))
                    }
                    lastSeen[jobId] = status
                    if status.state == .running, let line = lastProgressLine(step.key), lastProgress[step.key] != line,
                       let progress = ProgressLine.decode(Substring(line)) {
                        lastProgress[step.key] = line
                        onEvent(.progress(key: step.key, done: progress.done, total: progress.total, message: progress.message))
                    }
                    continue
                }
                if status?.state == .completed, !store.isCached(step.key), (try? store.record(step.key)) == nil {
                    let since = completedWithoutRecord[jobId] ?? Date()
                    completedWithoutRecord[jobId] = since
                    if Date().timeIntervalSince(since) < recordVisibilityGrace { continue }
                }
                if store.isCached(step.key) {
                    states[i] = .succeeded
                    result.succeeded.append(step.key)
                    onEvent(.succeeded(key: step.key, name: step.name, jobId: jobId))
                } else if status?.isDependencyNeverSatisfied == true {
                    // Slurm cancelled it because an upstream attempt failed: it did not run, its
                    // retries are untouched; `advance` resubmits it or cancels it for good.
                    states[i] = .waiting(used: attempt - 1)
                } else {
                    let why = describeFailure(of: step.key, jobId: jobId, status: status)
                    if mode == .apply && attempt <= options.retries {
                        states[i] = .waiting(used: attempt)
                        onEvent(.retrying(key: step.key, name: step.name, jobId: jobId, why: why, nextAttempt: attempt + 1))
                    } else {
                        states[i] = .failed
                        result.failed[step.key] = why
                        onEvent(.failed(key: step.key, name: step.name, jobId: jobId, message: why,
                                        logPath: (try? store.layout.log(step.key).path) ?? ""))
                    }
                }
            }
        }

        // Following only: a step left waiting (Slurm cancelled it for its input's sake) is not running.
        func finish(_ result: SlurmRunResult) -> SlurmRunResult {
            var result = result
            for (i, step) in order.enumerated() {
                if case .waiting = states[i], mode == .follow {
                    result.notRunning.append(step.key)
                    onEvent(.notRunning(key: step.key, name: step.name))
                }
            }
            return result
        }

        var lastGoodQueue = Date()
        while true {
            if isStopRequested {
                // Following only: stop watching, the jobs are not ours to cancel.
                if mode == .follow { return finish(result) }
                for (i, step) in order.enumerated() {
                    switch states[i] {
                    case .live(let jobId, _):
                        try? client.cancel([jobId])
                        states[i] = .stopped
                        result.stopped.append(step.key)
                        onEvent(.stopped(key: step.key, name: step.name, jobId: jobId))
                    case .waiting:
                        states[i] = .stopped
                        result.stopped.append(step.key)
                    default: break
                    }
                }
                return result
            }
            try advance()
            let unfinished = states.contains { state in
                switch state {
                case .live: return true
                case .waiting: return mode == .apply
                default: return false
                }
            }
            if !unfinished { return finish(result) }
            wake.lock()
            if !stopRequested { _ = wake.wait(until: Date().addingTimeInterval(options.pollInterval)) }
            wake.unlock()
            if isStopRequested { continue }
            do {
                queue = try client.queue()
                lastGoodQueue = Date()
            } catch {
                if Date().timeIntervalSince(lastGoodQueue) > queueOutageTolerance { throw error }
                continue
            }
            try observe(queue)
        }
    }

    /// sbatch one step and record its job id before anything else; a refusal cancels the run's other jobs.
    private func submit(_ step: StepRequest, memoryMB: Int?, dependencies: [String], attempt: Int,
                        otherLiveJobs: [String]) throws -> String {
        let job = SlurmStepJob(key: step.key, name: step.name, experiment: experimentNames[step.key] ?? experiment, cores: step.cores,
                               memoryMB: memoryMB, logPath: try store.logURL(step.key).path, dependencyJobIds: dependencies)
        let submission = SbatchScript.render(job, options: options, runner: runner, store: store.root.path, stepCommand: stepCommand)
        let jobId: String
        do {
            jobId = try client.submit(submission, stepName: step.name)
        } catch let error as SlurmError {
            guard !otherLiveJobs.isEmpty else { throw error }
            try? client.cancel(otherLiveJobs)
            let message: String
            if case .submissionRejected(_, let text) = error { message = text } else { message = error.description }
            throw SlurmError.submissionFailedAfterOthers(step: step.name, message: message, cancelledJobIds: otherLiveJobs)
        }
        do {
            var record = try SlurmJobRecord.load(store: store.layout, key: step.key)
                ?? SlurmJobRecord(key: step.key, experiment: experimentNames[step.key] ?? experiment, name: step.name)
            record.submissions.append(.init(jobId: jobId, attempt: attempt, submitted: Date(), dependencies: dependencies))
            try record.write(store: store.layout)
        } catch {
            // A job the store does not know about must not run on.
            try? client.cancel(otherLiveJobs + [jobId])
            throw SlurmError.unusableStore(path: store.root.path, reason: "could not record job \(jobId) of step \(step.name): \(error); cancelled the run's jobs")
        }
        return jobId
    }

    /// Why a job ended without a succeeded record, for the user: the step's own error when it
    /// recorded one, else what Slurm says about the job, plus the end of its log.
    private func describeFailure(of key: String, jobId: String, status: SlurmJobStatus?) -> String {
        var why: String
        if let record = try? store.record(key), record.status == .failed, let error = record.error {
            why = "job \(jobId): \(error)"
        } else if let job = try? client.showJob(jobId) {
            why = "job \(jobId) \(job.state)"
            var details: [String] = []
            if job.reason != "None" { details.append(job.reason) }
            if let exit = job.exitStatus, let signal = job.exitSignal, exit != 0 || signal != 0 {
                details.append(signal != 0 ? "signal \(signal)" : "exit \(exit)")
            }
            if job.state == .completed { details.append("but the step wrote no record") }
            if !details.isEmpty { why += " (" + details.joined(separator: ", ") + ")" }
        } else if let status {
            why = "job \(jobId) \(status.state)" + (status.reason == "None" ? "" : " (\(status.reason))")
        } else {
            let killed = (try? store.incompleteMarker(key)) != nil
            why = "job \(jobId) is no longer known to Slurm" + (killed ? " and the step left its incomplete marker (killed)" : " and the step never recorded a result")
        }
        if let tail = logTail(key), !tail.isEmpty { why += "\n" + tail }
        return why
    }

    /// The step's stdout goes to its log under Slurm: its last progress JSON line, if any.
    private func lastProgressLine(_ key: String) -> String? {
        guard let url = try? store.layout.log(key), let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        try? handle.seek(toOffset: size > 8192 ? size - 8192 : 0)
        guard let data = try? handle.readToEnd() else { return nil }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .last { $0.hasPrefix("{") && $0.contains("\"progress\"") }.map(String.init)
    }

    private func logTail(_ key: String, lines: Int = 5) -> String? {
        guard let url = try? store.layout.log(key), let data = try? Data(contentsOf: url) else { return nil }
        let text = String(decoding: data.suffix(4096), as: UTF8.self)
        return text.split(whereSeparator: \.isNewline).suffix(lines).joined(separator: "\n")
    }

    /// The steps ordered so every step comes after the steps of this run it takes inputs from
    /// (stable: otherwise in the given order). A cycle or a repeated key is an error.
    public static func topologicalOrder(_ steps: [StepRequest]) throws -> [StepRequest] {
        var position: [String: Int] = [:]
        for (i, step) in steps.enumerated() {
            if position[step.key] != nil {
                throw SlurmError.invalidOption(name: "steps", value: step.name, reason: "key \(step.key.prefix(10)) appears twice")
            }
            position[step.key] = i
        }
        var placed = Set<String>()
        var order: [StepRequest] = []
        while order.count < steps.count {
            let before = order.count
            for step in steps where !placed.contains(step.key) {
                if step.inputs.values.allSatisfy({ position[$0] == nil || placed.contains($0) }) {
                    placed.insert(step.key)
                    order.append(step)
                }
            }
            if order.count == before {
                let stuck = steps.filter { !placed.contains($0.key) }.map(\.name).joined(separator: ", ")
                throw SlurmError.invalidOption(name: "steps", value: stuck, reason: "their inputs form a cycle")
            }
        }
        return order
    }
}
