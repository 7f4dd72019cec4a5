import Foundation
import XCTest

/// The built `runner` binary (next to the test bundle: `.build/<config>/runner`), run as a
/// real process. End-to-end tests use nothing else.
enum RunnerBinary {
    static var url: URL? {
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent().appendingPathComponent("runner"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("runner"),
            Bundle.main.bundleURL.appendingPathComponent("runner"),
        ].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A started runner process, for tests that signal it while it runs.
final class RunnerProcess {
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private var outData = Data(), errData = Data()
    private let group = DispatchGroup()
    private let lock = NSLock()

    init(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws {
        guard let binary = RunnerBinary.url else { throw XCTSkip("the runner binary is not built next to the tests (swift build first)") }
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            Thread.detachNewThread { [self] in
                while true {
                    let chunk = pipe.fileHandleForReading.availableData
                    if chunk.isEmpty { break }
                    lock.lock(); if isOut { outData.append(chunk) } else { errData.append(chunk) }; lock.unlock()
                }
                group.leave()
            }
        }
        try process.run()
    }

    var stdoutSoFar: String { lock.lock(); defer { lock.unlock() }; return String(decoding: outData, as: UTF8.self) }
    var stderrSoFar: String { lock.lock(); defer { lock.unlock() }; return String(decoding: errData, as: UTF8.self) }

    /// Polls (every 20 ms, up to `timeout`) until `condition` holds; false on timeout or exit.
    func waitUntil(timeout: Double = 60, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            if !process.isRunning { return condition() }
            usleep(20_000)
        }
        return false
    }

    func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

    func wait() -> RunResult {
        process.waitUntilExit()
        group.wait()
        return RunResult(status: process.terminationStatus, stdout: stdoutSoFar, stderr: stderrSoFar)
    }
}

/// Runs the runner to completion.
func runner(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> RunResult {
    try RunnerProcess(arguments, in: directory, environment: environment).wait()
}
