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
    private struct Running {
        var name: String; var start: Double; var done = 0; var total = 0; var message = ""
        /// The first progress seen (count and time): a resumed step starts with work already done, so
        /// its pace is measured from here, not from zero.
        var baseDone: Int?; var baseAt = 0.0
    }

    private let lock = NSLock()
    private let clock = SystemTime()
    private var running: [(key: String, state: Running)] = []
    private var drawnLines = 0
    private var lastDraw = -Double.infinity
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
                // Parallel workers may report out of order: the bar never moves back.
                let same = running[i].state.total == total
                if !same || running[i].state.baseDone == nil { running[i].state.baseDone = done; running[i].state.baseAt = now }
                running[i].state.done = same ? max(running[i].state.done, done) : done
                running[i].state.total = total; running[i].state.message = message
            }
            // Progress can arrive hundreds of times a second: redraw at most every 100 ms (the timer catches up).
            if now - lastDraw < 0.1 { lock.unlock(); return }
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
        t.schedule(deadline: .now() + 0.25, repeating: 0.25)
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
        lastDraw = now
        Console.rawOut(out)
    }

    private func liveLine(_ r: Running, now: Double) -> String {
        let elapsed = now - r.start
        let barWidth = 20
        var bar = String(repeating: "░", count: barWidth)
        var counts = ""
        var eta = ""
        if r.total > 0 {
            let fraction = min(1, max(0, Double(r.done) / Double(r.total)))
            let filled = Int((fraction * Double(barWidth)).rounded(.down))
            bar = String(repeating: "█", count: filled) + String(repeating: "░", count: barWidth - filled)
            counts = " \(r.done)/\(r.total)"
            // A step that reports its own ETA knows its pace better (e.g. training, by batch).
            if let base = r.baseDone, r.done > base, !r.message.contains("ETA") {
                eta = " ETA " + ApplyText.seconds((now - r.baseAt) * Double(r.total - r.done) / Double(r.done - base))
            }
        }
        let message = r.message.isEmpty ? "" : " · " + r.message
        var text = "  \(r.name) \(bar)\(counts) \(ApplyText.seconds(elapsed))\(eta)\(message)"
        // Narrow terminal: the step's own message says more than the bar.
        if text.count > width - 1 { text = "  \(r.name)\(counts) \(ApplyText.seconds(elapsed))\(eta)\(message)" }
        return text.count > width - 1 ? String(text.prefix(width - 2)) + "…" : text
    }
}
