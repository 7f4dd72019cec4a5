import Foundation
import Steps
import Store

/// Runs each step as its own local process, `runner step KEY --store DIR --threads N`, in its own
/// process group. The step's stdout JSON-line progress becomes events; its stdout and stderr are
/// appended to `steps/KEY/log.txt`; its exit status becomes the outcome, a failure carrying the
/// last lines of the log. A crash of the step cannot take the scheduler down.
public final class LocalExecutor: StepExecutor, @unchecked Sendable {
    private let runner: URL
    private let storeRoot: URL
    private let coreBudget: Int
    private let environment: [String: String]
    private let events = EventQueue<ExecutorEvent>()
    private let lock = NSLock()
    private var running: [String: Process] = [:]
    private var cancelRequested = false
    /// Lines of a failure kept for the message.
    public static let tailLines = 15

    /// - Parameters:
    ///   - runner: the runner executable (the running process's own binary, or the built one in tests).
    ///   - coreBudget: the scheduler's budget; a step gets `min(max(cores, 1), coreBudget)` threads.
    ///   - environment: the parent environment the children inherit.
    public init(runner: URL, storeRoot: URL, coreBudget: Int,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                cpuHasAVX512F: Bool = ChildEnvironment.cpuHasAVX512F()) {
        self.runner = runner
        self.storeRoot = storeRoot
        self.coreBudget = max(1, coreBudget)
        self.environment = environment
        self.avx512 = cpuHasAVX512F
    }
    private let avx512: Bool

    public func launch(_ request: StepRequest) throws {
        let threads = min(max(request.cores, 1), coreBudget)
        let logURL = try StoreLayout(root: storeRoot).log(request.key)
        try FileManager.default.createDirectory(at: logURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        let log = try LogWriter(url: logURL)
        log.append("== runner step \(request.key) (\(request.name)) started \(ISO8601DateFormatter().string(from: Date())), \(threads) thread(s)\n")

        let process = Process()
        process.executableURL = runner
        process.arguments = ["step", request.key, "--store", storeRoot.path, "--threads", String(threads)]
        var childEnvironment = ChildEnvironment.make(base: environment, threads: threads, cpuHasAVX512F: avx512)
        // The step ends itself if this process dies (see `runner step`), so no orphan outlives an apply.
        childEnvironment["RUNNER_PARENT_PID"] = String(getpid())
        process.environment = childEnvironment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice

        let finished = DispatchGroup()
        let key = request.key
        let tail = LogTail(limit: LocalExecutor.tailLines)
        finished.enter(); finished.enter(); finished.enter()
        process.terminationHandler = { _ in finished.leave() }

        lock.lock()
        defer { lock.unlock() }
        do { try process.run() } catch {
            log.close()
            throw StepError("cannot start \(runner.path): \(error.localizedDescription)")
        }
        running[key] = process

        let queue = events
        Thread.detachNewThread {
            LocalExecutor.readLines(out.fileHandleForReading) { line in
                log.append(line + "\n")
                if let p = ProgressLine.decode(line[...]) {
                    queue.put(.progress(key: key, done: p.done, total: p.total, message: p.message))
                } else { tail.add(line) }
            }
            finished.leave()
        }
        Thread.detachNewThread {
            LocalExecutor.readLines(err.fileHandleForReading) { line in
                log.append(line + "\n")
                tail.add(line)
            }
            finished.leave()
        }
        finished.notify(queue: .global()) { [weak self] in
            let outcome = self?.outcome(of: process, tail: tail.lines, logPath: logURL.path) ?? .stopped
            log.append("== exited: \(LocalExecutor.describe(outcome))\n")
            log.close()
            self?.forget(key)
            queue.put(.exited(key: key, outcome))
        }
    }

    public func nextEvent() -> ExecutorEvent { events.take() }

    public func cancelAll() {
        lock.lock()
        cancelRequested = true
        let pids = running.values.map(\.processIdentifier)
        lock.unlock()
        // Foundation starts each child in its own process group (pgid = pid): signal the group,
        // so anything the step started stops too.
        for pid in pids where pid > 0 { kill(-pid, SIGTERM) }
    }

    private func forget(_ key: String) {
        lock.lock(); running[key] = nil; lock.unlock()
    }

    private func outcome(of process: Process, tail: [String], logPath: String) -> StepOutcome {
        lock.lock(); let cancelled = cancelRequested; lock.unlock()
        let status = process.terminationStatus
        if process.terminationReason == .exit, status == 0 { return .succeeded }
        if cancelled { return .stopped }
        let how = process.terminationReason == .uncaughtSignal ? "killed by signal \(status)" : "exit code \(status)"
        let lines = tail.isEmpty ? "" : "\n" + tail.map { "  " + $0 }.joined(separator: "\n")
        return .failed(message: "step process ended with \(how)\(lines)", logPath: logPath)
    }

    static func describe(_ outcome: StepOutcome) -> String {
        switch outcome {
        case .succeeded: return "succeeded"
        case .stopped: return "stopped on request"
        case .failed(let message, _): return message.split(separator: "\n").first.map(String.init) ?? "failed"
        }
    }

    /// Reads `handle` to EOF, calling `body` with each line (without its newline; a last
    /// unterminated line is delivered too).
    static func readLines(_ handle: FileHandle, _ body: (String) -> Void) {
        var buffer = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                body(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
        }
        if !buffer.isEmpty { body(String(decoding: buffer, as: UTF8.self)) }
        try? handle.close()
    }
}

/// Appends to a step's log from the stdout and stderr readers (serialised).
private final class LogWriter: @unchecked Sendable {
    private let handle: FileHandle
    private let lock = NSLock()
    private var closed = false

    init(url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
    }

    func append(_ text: String) {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { return }
        handle.write(Data(text.utf8))
    }

    func close() {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        try? handle.close()
    }
}

/// The last lines of a step's output, for a failure message.
private final class LogTail: @unchecked Sendable {
    private let limit: Int
    private let lock = NSLock()
    private var buffer: [String] = []

    init(limit: Int) { self.limit = limit }

    func add(_ line: String) {
        guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { return }
        lock.lock(); defer { lock.unlock() }
        buffer.append(line)
        if buffer.count > limit { buffer.removeFirst(buffer.count - limit) }
    }

    var lines: [String] { lock.lock(); defer { lock.unlock() }; return buffer }
}
