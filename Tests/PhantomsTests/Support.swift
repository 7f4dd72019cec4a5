import Foundation
import XCTest

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("phantoms-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// Runs `python3 -c script args…` and returns stdout; fails the test (never skips) when python3,
/// numpy or h5py is missing or the script fails.
func runPython(_ script: String, _ args: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script] + args
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let stdout = String(decoding: outData, as: UTF8.self)
    if process.terminationStatus != 0 {
        XCTFail("python3 failed (\(process.terminationStatus)): \(String(decoding: errData, as: UTF8.self))", file: file, line: line)
        throw CocoaError(.executableLoad)
    }
    return stdout
}

func sha256OfFile(_ url: URL) throws -> Data { try Data(contentsOf: url) }
