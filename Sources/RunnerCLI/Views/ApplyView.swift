import Execution
import Foundation
import Planner
import Steps
import Store

/// What `runner apply` shows, whatever the output: a live terminal display, plain timestamped
/// lines, or JSON lines. Called from the scheduler's thread and from the signal queue.
protocol ApplyView: AnyObject {
    func planned(toRun: Int, cached: Int, unavailable: [PlannedStep], cores: Int)
    func waiting(for holder: LockInfo)
    func tookOverStaleLock(_ holder: LockInfo)
    func event(_ event: SchedulerEvent)
    /// What a finished step reported (its summary, one line).
    func details(_ step: StepRequest, summary: JSONValue)
    func interrupted(signal: String)
    func finished(_ report: ApplyReport)
}

/// The outcome of an apply, as the summary views show it.
struct ApplyReport {
    var summary: RunSummary
    var steps: [String: PlannedStep]
    var cached: Int
    /// Steps that cannot run in this runner yet, with the reason (train/evaluate/report).
    var unavailable: [(PlannedStep, String)]
    /// Display name of each step (qualified by its experiment when there are several).
    var names: [String: String]
    /// Failed step key → its log file, in the order they failed.
    var failedLogs: [(String, String)]
    var elapsed: Double
    var exit: RunnerExit
}

enum ApplyViewFactory {
    static func make(json: Bool) -> ApplyView {
        if json { return JSONApplyView() }
        return Console.stdoutIsTerminal ? LiveApplyView() : PlainApplyView()
    }
}

/// Shared wording of both human views.
enum ApplyText {
    static func seconds(_ s: Double) -> String {
        if s < 60 { return String(format: "%.1fs", s) }
        let total = Int(s.rounded())
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }

    static func planned(toRun: Int, cached: Int, unavailable: Int, cores: Int) -> String {
        var parts = ["\(toRun) step\(toRun == 1 ? "" : "s") to run", "\(cached) cached"]
        if unavailable > 0 { parts.append("\(unavailable) not runnable yet") }
        return "apply: " + parts.joined(separator: ", ") + " (\(cores) core\(cores == 1 ? "" : "s"))"
    }

    static func waiting(_ holder: LockInfo) -> String {
        "waiting for the store lock: \(holder.summary) (Ctrl-C to give up; --no-wait fails at once)"
    }

    static func summaryLines(_ r: ApplyReport) -> [String] {
        var lines: [String] = []
        let s = r.summary
        var counts = ["\(s.succeeded.count) succeeded"]
        if !s.failed.isEmpty { counts.append("\(s.failed.count) failed") }
        if !s.stopped.isEmpty { counts.append("\(s.stopped.count) stopped") }
        let skippedRunnable = s.skipped.filter { if case .unavailable = $0.value { return false } else { return true } }
        if !skippedRunnable.isEmpty { counts.append("\(skippedRunnable.count) not run") }
        counts.append("\(r.cached) cached")
        lines.append("done in \(seconds(r.elapsed)): " + counts.joined(separator: ", "))
        for (key, log) in r.failedLogs { lines.append("  failed: \(r.names[key] ?? key) — log: \(log)") }
        if !r.unavailable.isEmpty {
            // Group by reason: "train ×24: not implemented yet: training arrives with issue 4".
            var byReason: [String: [String]] = [:]
            var order: [String] = []
            for (step, reason) in r.unavailable {
                if byReason[reason] == nil { order.append(reason) }
                byReason[reason, default: []].append(r.names[step.key] ?? step.name)
            }
            lines.append("stopped before \(r.unavailable.count) step\(r.unavailable.count == 1 ? "" : "s") this runner cannot run yet:")
            for reason in order {
                let names = byReason[reason]!
                let shown = names.prefix(3).joined(separator: ", ") + (names.count > 3 ? ", … (\(names.count) in all)" : "")
                lines.append("  \(shown): \(reason)")
            }
        }
        if s.cancelled { lines.append("interrupted: finished steps are kept; run the same apply again to continue") }
        return lines
    }

}

/// Plain lines with a timestamp, for logs and pipes (no cursor movement).
final class PlainApplyView: ApplyView {
    private let lock = NSLock()
    private var lastProgress: [String: Double] = [:]
    private let clock = SystemTime()
    private static let formatter: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "HH:mm:ss"
        return f
    }()

    private func line(_ text: String) {
        Console.out("\(PlainApplyView.formatter.string(from: Date())) \(text)")
    }

    func planned(toRun: Int, cached: Int, unavailable: [PlannedStep], cores: Int) {
        line(ApplyText.planned(toRun: toRun, cached: cached, unavailable: unavailable.count, cores: cores))
    }
    func waiting(for holder: LockInfo) { line(ApplyText.waiting(holder)) }
    func tookOverStaleLock(_ holder: LockInfo) { line("took over a stale lock: \(holder.summary) (its process is gone)") }

    func event(_ event: SchedulerEvent) {
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .started(let s): line("start   \(s.name)")
        case let .progress(s, done, total, message):
            // At most one progress line per step every 2 s, and always the last one.
            let now = clock.now()
            if done < total, let last = lastProgress[s.key], now - last < 2 { return }
            lastProgress[s.key] = now
            line("        \(s.name) \(done)/\(total)\(message.isEmpty ? "" : " \(message)")")
        case let .finished(s, d): line("done    \(s.name) in \(ApplyText.seconds(d))")
        case let .failed(s, message, _): line("FAILED  \(s.name): \(message)")
        case let .stopped(s, d): line("stopped \(s.name) after \(ApplyText.seconds(d))")
        case let .skipped(s, reason):
            if case .unavailable = reason { return }   // summarised once at the end
            line("skip    \(s.name): \(reason)")
        }
    }

    func details(_ step: StepRequest, summary: JSONValue) {
        if let text = StepSummaryText.line(summary) { line("        \(step.name): \(text)") }
    }

    func interrupted(signal: String) {
        line("\(signal): stopping running steps (they keep what they finished); Ctrl-C again to stop waiting for them")
    }

    func finished(_ report: ApplyReport) {
        for text in ApplyText.summaryLines(report) { line(text) }
    }
}

/// One JSON object per line: `{"event":"started","key":…,"name":…}` …, then `{"event":"summary",…}`.
final class JSONApplyView: ApplyView {
    private func emit(_ fields: [String: JSONValue]) { Console.out(JSONValue.object(fields).canonicalText) }

    private func step(_ s: StepRequest) -> [String: JSONValue] {
        ["key": .string(s.key), "name": .string(s.name), "kind": .string(s.kind.rawValue)]
    }

    func planned(toRun: Int, cached: Int, unavailable: [PlannedStep], cores: Int) {
        emit(["event": .string("planned"), "to_run": .number(Double(toRun)), "cached": .number(Double(cached)),
              "unavailable": .number(Double(unavailable.count)), "cores": .number(Double(cores))])
    }
    func waiting(for holder: LockInfo) {
        emit(["event": .string("waiting_for_lock"), "lock": .string(holder.id), "host": .string(holder.host),
              "pid": .number(Double(holder.pid)), "command": .string(holder.command)])
    }
    func tookOverStaleLock(_ holder: LockInfo) { emit(["event": .string("took_over_stale_lock"), "lock": .string(holder.id)]) }

    func event(_ event: SchedulerEvent) {
        switch event {
        case .started(let s): emit(step(s).merging(["event": .string("started")]) { $1 })
        case let .progress(s, done, total, message):
            emit(step(s).merging(["event": .string("progress"), "done": .number(Double(done)), "total": .number(Double(total)),
                                  "message": .string(message)]) { $1 })
        case let .finished(s, d): emit(step(s).merging(["event": .string("finished"), "seconds": .number(d)]) { $1 })
        case let .failed(s, message, log):
            emit(step(s).merging(["event": .string("failed"), "message": .string(message), "log": log.map(JSONValue.string) ?? .null]) { $1 })
        case let .stopped(s, d): emit(step(s).merging(["event": .string("stopped"), "seconds": .number(d)]) { $1 })
        case let .skipped(s, reason): emit(step(s).merging(["event": .string("skipped"), "reason": .string(reason.description)]) { $1 })
        }
    }

    func details(_ step: StepRequest, summary: JSONValue) {
        emit(self.step(step).merging(["event": .string("summary_of_step"), "summary": summary]) { $1 })
    }

    func interrupted(signal: String) { emit(["event": .string("interrupted"), "signal": .string(signal)]) }

    func finished(_ r: ApplyReport) {
        let s = r.summary
        emit(["event": .string("summary"), "exit_code": .number(Double(r.exit.rawValue)), "seconds": .number(r.elapsed),
              "succeeded": .array(s.succeeded.map(JSONValue.string)), "failed": .array(s.failed.map(JSONValue.string)),
              "stopped": .array(s.stopped.map(JSONValue.string)),
              "skipped": .object(s.skipped.mapValues { .string($0.description) }),
              "cached": .number(Double(r.cached)), "cancelled": .bool(s.cancelled)])
    }
}
