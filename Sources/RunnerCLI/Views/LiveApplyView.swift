import Dispatch
import Execution
import Foundation
import Planner
import Steps
import Store

/// The terminal display of `apply`: finished steps scroll up as permanent lines; below them one
/// line per running step (bar, done/total, elapsed, ETA) is redrawn in place, also between
/// events (a timer), so elapsed time moves while a step is quiet.
final class LiveApplyView: ApplyView {
    private struct Running { var name: String; var start: Double; var done = 0; var total = 0; var message = "" }

    private let lock = NSLock()
    private let clock = SystemTime()
    private var running: [(key: String, state: Running)] = []
    private var drawnLines = 0
    private var timer: DispatchSourceTimer?
    private let width: Int

    init() {
        var size = winsize()
        width = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20 ? Int(size.ws_col) : 100
    }

    deinit { timer?.cancel() }

    func planned(toRun: Int, cached: Int, unavailable: [PlannedStep], cores: Int) {
        permanent(ApplyText.planned(toRun: toRun, cached: cached, unavailable: unavailable.count, cores: cores))
    }
    func waiting(for holder: LockInfo) { permanent(ApplyText.waiting(holder)) }
    func tookOverStaleLock(_ holder: LockInfo) { permanent("took over a stale lock: \(holder.summary) (its process is gone)") }
    func interrupted(signal: String) {
        permanent("\(signal): stopping running steps (they keep what they finished); Ctrl-C again to stop waiting for them")
    }

    func details(_ step: StepRequest, summary: JSONValue) {
        if let text = StepSummaryText.line(summary) { permanent("  \(step.name): \(text)") }
    }

    func event(_ event: SchedulerEvent) {
        lock.lock()
        let now = clock.now()
        var line: String?
        switch event {
        case .started(let s):
            running.append((s.key, Running(name: s.name, start: now)))
            startTimerIfNeeded()
        case let .progress(s, done, total, message):
            if let i = running.firstIndex(where: { $0.key == s.key }) {
                running[i].state.done = done; running[i].state.total = total; running[i].state.message = message
            }
        case let .finished(s, d): remove(s.key); line = "✓ \(s.name) (\(ApplyText.seconds(d)))"
        case let .failed(s, message, _): remove(s.key); line = "✗ \(s.name): \(message)"
        case let .stopped(s, d): remove(s.key); line = "■ \(s.name) stopped after \(ApplyText.seconds(d))"
        case let .skipped(s, reason):
            if case .unavailable = reason { break }
            line = "- \(s.name): \(reason)"
        }
        redraw(permanent: line.map { [$0] } ?? [])
        lock.unlock()
    }

    func finished(_ report: ApplyReport) {
        lock.lock()
        timer?.cancel(); timer = nil
        running.removeAll()
        redraw(permanent: ApplyText.summaryLines(report))
        lock.unlock()
    }

    private func permanent(_ text: String) {
        lock.lock(); redraw(permanent: [text]); lock.unlock()
    }

    private func remove(_ key: String) { running.removeAll { $0.key == key } }

    private func startTimerIfNeeded() {
        guard timer == nil else { return }
        let t = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "runner.live-view"))
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.lock(); self.redraw(permanent: []); self.lock.unlock()
        }
        t.resume()
        timer = t
    }

    /// Erases the live lines, prints `permanent` lines, draws the live lines again. Caller holds the lock.
    private func redraw(permanent lines: [String]) {
        var out = ""
        if drawnLines > 0 { out += "\u{1B}[\(drawnLines)F\u{1B}[J" }   // up to the first live line, clear below
        for line in lines { out += line + "\n" }
        let now = clock.now()
        for (_, state) in running { out += liveLine(state, now: now) + "\n" }
        drawnLines = running.count
        Console.rawOut(out)
    }

    private func liveLine(_ r: Running, now: Double) -> String {
        let elapsed = now - r.start
        let barWidth = 20
        var text: String
        if r.total > 0 {
            let fraction = min(1, max(0, Double(r.done) / Double(r.total)))
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
            let eta = r.done > 0 ? " ETA " + ApplyText.seconds(elapsed * Double(r.total - r.done) / Double(r.done)) : ""
            text = "  \(r.name) \(bar) \(r.done)/\(r.total) \(ApplyText.seconds(elapsed))\(eta)"
        } else {
            text = "  \(r.name) \(String(repeating: "░", count: barWidth)) \(ApplyText.seconds(elapsed))"
        }
        if !r.message.isEmpty { text += " · " + r.message }
        return text.count > width - 1 ? String(text.prefix(width - 2)) + "…" : text
    }
}
