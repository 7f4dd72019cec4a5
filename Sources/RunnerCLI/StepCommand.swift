import ArgumentParser
import Execution
import Foundation
import Steps
import Store

/// `runner step KEY --store DIR`: the one entry point every step runs through (hidden from help;
/// `apply` and the Slurm executor start it). Progress goes to stdout as JSON lines, everything
/// else is the log. Exit 0 on success, 4 on failure, 130 when stopped by SIGTERM/SIGINT.
struct StepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "step", abstract: "Run one step of the store (the entry point apply uses).", shouldDisplay: false)

    @Argument(help: "The step's content key.") var key: String
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Threads the step may use (default: RUNNER_THREADS, else 1).") var threads: Int?

    func run() throws {
        let stop = AtomicFlag()
        let trap = SignalTrap { sig in
            if stop.isSet { Foundation.exit(RunnerExit.interrupted.rawValue) }   // asked twice: stop now
            Console.error("step \(key): \(SignalTrap.name(sig)) received, stopping after the current unit of work")
            stop.set()
        }
        defer { withExtendedLifetime(trap) {} }
        ParentWatch.start()
        let threads = max(1, self.threads ?? Int(ProcessInfo.processInfo.environment["RUNNER_THREADS"] ?? "") ?? 1)
        let entry = StepEntry(runnerVersion: RunnerVersion.current)
        let outcome: StepEntryOutcome
        do {
            outcome = try entry.run(key: key, storeRoot: storeOptions.url, threads: threads,
                                    progress: { p in Console.out(ProgressLine.encode(done: p.done, total: p.total, message: p.message)) },
                                    isCancelled: { stop.isSet })
        } catch {
            throw CLIFailure(.stepFailed, "step \(key): \(error)")
        }
        switch outcome {
        case .succeeded(let record):
            Console.error("step \(key) (\(record.name)) succeeded in \(String(format: "%.2f", record.duration)) s: \(record.output.files.count) file(s)")
        case .alreadyDone:
            Console.error("step \(key) already succeeded; nothing to do")
        case .failed(let message):
            throw CLIFailure(.stepFailed, message)
        case .stopped:
            throw CLIFailure(.interrupted, "step \(key) stopped on request; the next apply runs it again")
        }
    }
}

/// A step started by a local apply ends itself when that apply dies (SIGKILL leaves no chance to
/// stop it), so an orphan never races the next apply for the same step. It dies the way a crash
/// does: its incomplete marker stays, no record is written, the next apply runs it again.
/// The executor passes its pid in RUNNER_PARENT_PID; under Slurm there is no such parent.
enum ParentWatch {
    static let variable = "RUNNER_PARENT_PID"

    static func start() {
        guard let text = ProcessInfo.processInfo.environment[variable], let parent = Int32(text) else { return }
        if getppid() != parent { kill(getpid(), SIGKILL) }
        Thread.detachNewThread {
            while true {
                usleep(100_000)
                if getppid() != parent { kill(getpid(), SIGKILL) }
            }
        }
    }
}
