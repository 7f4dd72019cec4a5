import Foundation
import Store
import XCTest

/// A fresh directory under the system temp dir, removed by the test's teardown.
func makeTemporaryDirectory(_ test: XCTestCase, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("StoreTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock {
        // Objects are read-only; make them writable again so the tree can be removed.
        if let e = FileManager.default.enumerator(atPath: url.path) {
            for case let rel as String in e { chmod(url.appendingPathComponent(rel).path, 0o755) }
        }
        try? FileManager.default.removeItem(at: url)
    }
    return url
}

/// Deterministic test bytes.
func bytes(_ count: Int, seed: UInt8 = 1) -> Data {
    var state = UInt32(seed) &* 2654435761 &+ 1
    return Data((0..<count).map { _ in
        state = state &* 1664525 &+ 1013904223
        return UInt8(truncatingIfNeeded: state >> 24)
    })
}

/// Overwrites part of a (read-only) object file in place, as a failing disk or a careless user would.
func corrupt(_ url: URL, at offset: Int = 0) throws {
    chmod(url.path, 0o644)
    let handle = try FileHandle(forUpdating: url)
    try handle.seek(toOffset: UInt64(offset))
    let original = try handle.read(upToCount: 1) ?? Data([0])
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data([original[0] ^ 0xff]))
    try handle.close()
}

/// The pid of a process that has exited (and been reaped), so it is certainly not alive.
func deadPID() throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/true")
    try p.run()
    p.waitUntilExit()
    return p.processIdentifier
}

struct ProbeError: Error, CustomStringConvertible {
    var description: String
}

/// A running StoreProbe child (Sources/StoreProbe): we talk to it through its stdin
/// and stdout and can SIGKILL it at the point it reports.
final class Probe {
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private var buffer = Data()

    static func executable() throws -> URL {
        var dirs: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent(),
                           URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
        if let exe = Bundle.main.executableURL { dirs.append(exe.deletingLastPathComponent()) }
        for bundle in Bundle.allBundles { dirs.append(bundle.bundleURL.deletingLastPathComponent()) }
        for dir in dirs {
            let url = dir.appendingPathComponent("StoreProbe")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw ProbeError(description: "StoreProbe executable not found beside the test bundle (looked in \(dirs.map(\.path))); build all targets first (`swift build --build-tests`)")
    }

    init(_ arguments: [String]) throws {
        process.executableURL = try Probe.executable()
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        try process.run()
    }

    /// The next line the probe prints; fails if it exits first.
    func readLine() throws -> String {
        while true {
            if let nl = buffer.firstIndex(of: 0x0a) {
                let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                buffer = Data(buffer[(nl + 1)...])
                return line
            }
            let chunk = stdoutPipe.fileHandleForReading.availableData
            if chunk.isEmpty {
                process.waitUntilExit()
                let err = String(decoding: stderrPipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw ProbeError(description: "probe exited (status \(process.terminationStatus)) before a full line; stderr: \(err)")
            }
            buffer.append(chunk)
        }
    }

    /// Reads a line and checks its first word.
    @discardableResult
    func expect(_ word: String, file: StaticString = #filePath, line: UInt = #line) throws -> [String] {
        let text = try readLine()
        let words = text.split(separator: " ").map(String.init)
        guard words.first == word else { throw ProbeError(description: "expected '\(word) …' from probe, got '\(text)'") }
        return Array(words.dropFirst())
    }

    func send(_ line: String = "go") {
        stdinPipe.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    func killHard() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Waits for a normal exit and returns the status.
    func finish() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }

    var pid: Int32 { process.processIdentifier }
}
