import Foundation
import Steps

/// What to do with the rest of the graph once a step has failed.
public enum FailurePolicy: Sendable {
    /// Dependants of the failed step are skipped; independent branches still run (the default).
    case keepGoing
    /// No new step is launched; running steps finish.
    case failFast
}

/// Runs a DAG of steps through an executor: a step starts once every input it has *in this run*
/// has succeeded (inputs outside the run are already in the store), ready steps start in plan
/// order as long as their cores fit the budget, and a step asking for more cores than the whole
/// budget runs alone with the budget. Everything that happens leaves as a `SchedulerEvent`.
public final class Scheduler {
    private enum State { case pending, running(start: Double, cores: Int), succeeded, failed, stopped, skipped }

    private let steps: [StepRequest]
    private let unavailable: [String: String]
    private let budget: Int
    private let policy: FailurePolicy
    private let clock: TimeSource

    /// - Parameters:
    ///   - steps: the steps to run, in plan (topological) order.
    ///   - unavailable: step key → why it cannot run (e.g. its kind is not implemented yet); such a
    ///     step is reported as skipped when it would have become ready, and its dependants with it.
    ///   - cores: the core budget (at least 1).
    public init(steps: [StepRequest], unavailable: [String: String] = [:], cores: Int,
                policy: FailurePolicy = .keepGoing, clock: TimeSource = SystemTime()) {
        self.steps = steps
        self.unavailable = unavailable
        self.budget = max(1, cores)
        self.policy = policy
        self.clock = clock
    }

    /// The cores a step is given: what it asks for, at least 1, at most the budget.
    public func cores(for step: StepRequest) -> Int { min(max(step.cores, 1), budget) }

    /// Runs until every step has succeeded, failed, stopped or been skipped. Registers
    /// `executor.cancelAll` on `cancellation`, so cancelling the flag stops running steps; once
    /// cancelled, nothing new is launched.
    public func run(executor: StepExecutor, cancellation: CancellationFlag = CancellationFlag(),
                    events: (SchedulerEvent) -> Void) -> RunSummary {
        cancellation.onCancel { [weak executor] in executor?.cancelAll() }
        let index = Dictionary(steps.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
        let dependencies: [[Int]] = steps.map { step in step.inputs.values.sorted().compactMap { index[$0] } }
        var state = [State](repeating: .pending, count: steps.count)
        var summary = RunSummary()
        var freeCores = budget
        var running = 0
        var anyFailed = false
        let start = clock.now()

        func skip(_ i: Int, _ reason: SkipReason) {
            state[i] = .skipped
            summary.skipped[steps[i].key] = reason
            events(.skipped(steps[i], reason: reason))
        }

        // Skips pending steps whose inputs can no longer succeed; steps are in topological order,
        // but loop to a fixpoint so an unordered list is still handled.
        func propagate() {
            var changed = true
            while changed {
                changed = false
                for i in steps.indices {
                    guard case .pending = state[i] else { continue }
                    let blocker = dependencies[i].first { d in
                        switch state[d] { case .failed, .skipped, .stopped: return true; default: return false }
                    }
                    guard let d = blocker else { continue }
                    if let why = unavailable[steps[i].key] {
                        skip(i, .unavailable(why))   // it cannot run anyway: say so rather than blame its input
                    } else if case .failed = state[d] {
                        skip(i, .inputFailed(steps[d].name))
                    } else {
                        skip(i, .inputNotRun(steps[d].name))
                    }
                    changed = true
                }
            }
        }

        func isPendingOrRunning(_ i: Int) -> Bool {
            switch state[i] { case .pending, .running: return true; default: return false }
        }

        func isReady(_ i: Int) -> Bool {
            guard case .pending = state[i] else { return false }
            return dependencies[i].allSatisfy { if case .succeeded = state[$0] { return true } else { return false } }
        }

        func launchReady() {
            for i in steps.indices where isReady(i) {
                if let why = unavailable[steps[i].key] { skip(i, .unavailable(why)); propagate(); continue }
                let need = cores(for: steps[i])
                guard need <= freeCores else { continue }
                do {
                    try executor.launch(steps[i])
                } catch {
                    state[i] = .failed
                    anyFailed = true
                    summary.failed.append(steps[i].key)
                    events(.failed(steps[i], message: "could not start: \(error)", logPath: nil))
                    propagate()
                    if policy == .failFast { return }
                    continue
                }
                state[i] = .running(start: clock.now(), cores: need)
                freeCores -= need
                running += 1
                events(.started(steps[i]))
            }
        }

        while true {
            propagate()
            let mayLaunch = !cancellation.isCancelled && !(policy == .failFast && anyFailed)
            if mayLaunch { launchReady() }
            if running == 0 {
                // Skipping an unavailable step can make nothing ready; one more pass settles it.
                if mayLaunch, steps.indices.contains(where: isReady) { continue }
                break
            }
            let event = executor.nextEvent()
            switch event {
            case let .progress(key, done, total, message):
                guard let i = index[key], case .running = state[i] else { continue }
                events(.progress(steps[i], done: done, total: total, message: message))
            case let .exited(key, outcome):
                guard let i = index[key], case let .running(began, used) = state[i] else { continue }
                freeCores += used
                running -= 1
                let duration = clock.now() - began
                switch outcome {
                case .succeeded:
                    state[i] = .succeeded
                    summary.succeeded.append(key)
                    events(.finished(steps[i], duration: duration))
                case let .failed(message, logPath):
                    state[i] = .failed
                    anyFailed = true
                    summary.failed.append(key)
                    events(.failed(steps[i], message: message, logPath: logPath))
                case .stopped:
                    state[i] = .stopped
                    summary.stopped.append(key)
                    events(.stopped(steps[i], duration: duration))
                }
            }
        }

        // Whatever is still pending was held back by cancellation, --fail-fast or a cycle.
        let leftover: SkipReason = cancellation.isCancelled ? .cancelled : .failFast
        for i in steps.indices {
            guard case .pending = state[i] else { continue }
            if cancellation.isCancelled || (policy == .failFast && anyFailed) {
                skip(i, leftover)
            } else {
                skip(i, .inputNotRun(dependencies[i].map { steps[$0].name }.joined(separator: ", ")))
            }
            propagate()
        }
        summary.cancelled = cancellation.isCancelled
        summary.duration = clock.now() - start
        return summary
    }
}
