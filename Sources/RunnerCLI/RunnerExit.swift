import Foundation

/// The runner's exit codes, the same for every command.
public enum RunnerExit: Int32 {
    case success = 0
    /// Invalid input: a bad experiment file, a stale saved plan, a store that cannot be used.
    case invalidInput = 1
    /// A usage error (unknown flag, missing argument).
    case usage = 2
    /// A quality gate failed (training and evaluation, later).
    case gateFailed = 3
    /// A step failed.
    case stepFailed = 4
    /// Interrupted by SIGINT/SIGTERM; the next apply continues where this one stopped.
    case interrupted = 130
}

/// A failure a command reports with one message on stderr and an exit code.
struct CLIFailure: Error {
    var exit: RunnerExit
    var message: String
    init(_ exit: RunnerExit, _ message: String) { self.exit = exit; self.message = message }
}

/// The only place that writes to the terminal. Writes are unbuffered and whole lines.
enum Console {
    private static let lock = NSLock()

    static func out(_ text: String) { write(text.hasSuffix("\n") ? text : text + "\n", to: FileHandle.standardOutput) }
    static func error(_ text: String) { write(text.hasSuffix("\n") ? text : text + "\n", to: FileHandle.standardError) }
    static func rawOut(_ text: String) { write(text, to: FileHandle.standardOutput) }

    private static func write(_ text: String, to handle: FileHandle) {
        lock.lock(); defer { lock.unlock() }
        handle.write(Data(text.utf8))
    }

    static var stdoutIsTerminal: Bool { isatty(STDOUT_FILENO) == 1 }
    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}
