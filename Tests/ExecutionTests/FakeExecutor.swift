import Foundation
import Execution
import Steps
import Store

/// A clock the fake executor moves forward; no test sleeps.
final class FakeClock: TimeSource {
    var time: Double = 0
    func now() -> Double { time }
}

/// A discrete-event simulation of an executor: each launched step "runs" for a scripted
/// duration on the fake clock; `nextEvent` jumps the clock to the earliest exit. It records
/// launches and the largest number of cores in use at once, so scheduler tests check order
/// and parallelism deterministically.
final class FakeExecutor: StepExecutor {
    struct Script { var duration: Double = 1; var outcome: StepOutcome = .succeeded; var progress: [Int] = [] }

    let clock: FakeClock
    var scripts: [String: Script] = [:]
    var coresOf: (StepRequest) -> Int = { _ in 1 }
    var failLaunch: Set<String> = []
    /// Called when the simulated clock reaches this time (e.g. to cancel mid-run).
    var onTime: [(Double, () -> Void)] = []

    private(set) var launched: [String] = []
    private(set) var cancelCalls = 0
    private(set) var coresInUse = 0
    private(set) var maxCoresInUse = 0
    private var pending: [(time: Double, event: ExecutorEvent, cores: Int)] = []

    init(clock: FakeClock) { self.clock = clock }

    func launch(_ request: StepRequest) throws {
        if failLaunch.contains(request.name) { throw StepError("no such binary") }
        launched.append(request.name)
        let script = scripts[request.name] ?? Script()
        let cores = coresOf(request)
        coresInUse += cores
        maxCoresInUse = max(maxCoresInUse, coresInUse)
        for (n, done) in script.progress.enumerated() {
            let t = clock.time + script.duration * Double(n + 1) / Double(script.progress.count + 1)
            pending.append((t, .progress(key: request.key, done: done, total: script.progress.last ?? 0, message: ""), 0))
        }
        pending.append((clock.time + script.duration, .exited(key: request.key, script.outcome), cores))
    }

    func nextEvent() -> ExecutorEvent {
        // Earliest event first; ties in launch order (stable).
        var i = pending.indices.min { pending[$0].time < pending[$1].time }!
        while let hook = onTime.first, hook.0 <= pending[i].time {
            clock.time = hook.0
            onTime.removeFirst()
            hook.1()
            i = pending.indices.min { pending[$0].time < pending[$1].time }!
        }
        let next = pending.remove(at: i)
        clock.time = max(clock.time, next.time)
        if case .exited = next.event { coresInUse -= next.cores }
        return next.event
    }

    func cancelAll() {
        cancelCalls += 1
        // Every running step stops now.
        for j in pending.indices {
            if case let .exited(key, _) = pending[j].event {
                pending[j] = (clock.time, .exited(key: key, .stopped), pending[j].cores)
            }
        }
        pending.removeAll { if case .progress = $0.event { return true } else { return false } }
    }
}

/// A step named `name` with inputs by name; keys are derived from names.
func step(_ name: String, _ inputs: [String] = [], cores: Int = 1, kind: StepKind = .generate) -> StepRequest {
    StepRequest(key: "k-" + name, kind: kind, name: name, params: .object([:]),
                inputs: Dictionary(uniqueKeysWithValues: inputs.enumerated().map { ("in\($0)", "k-" + $1) }), cores: cores)
}

/// Events rendered as short strings, to compare orders.
func describe(_ event: SchedulerEvent) -> String {
    switch event {
    case .started(let s): return "start \(s.name)"
    case let .progress(s, done, total, _): return "progress \(s.name) \(done)/\(total)"
    case let .finished(s, d): return "finish \(s.name) \(d)"
    case let .failed(s, m, _): return "fail \(s.name): \(m)"
    case let .stopped(s, d): return "stop \(s.name) \(d)"
    case let .skipped(s, r): return "skip \(s.name): \(r)"
    }
}
