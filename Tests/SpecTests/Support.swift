import Foundation
import XCTest
import Spec

/// Paths of the repository, found from this file's location (tests run in the source tree).
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let experiments = root.appendingPathComponent("experiments")
    static let schema = root.appendingPathComponent("schemas/experiment.schema.json")
    static let validator = root.appendingPathComponent("schemas/validate.py")
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Every YAML file under experiments/, sorted.
    static func experimentFiles() -> [String] {
        let e = FileManager.default.enumerator(atPath: experiments.path)!
        return e.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") }.sorted()
            .map { experiments.appendingPathComponent($0).path }
    }
}

/// A scratch directory removed when the test ends.
final class ScratchDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("spec-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: file, atomically: true, encoding: .utf8)
        return file.path
    }
}

/// Loads YAML text (as file `path` in `dir`), returning the error's diagnostics or failing.
func diagnostics(_ text: String, in dir: ScratchDirectory, name: String = "x.yaml",
                 file: StaticString = #filePath, line: UInt = #line) throws -> [Diagnostic] {
    let path = try dir.write(name, text)
    do {
        _ = try ExperimentLoader.load(path: path)
        XCTFail("expected the file to be rejected", file: file, line: line)
        return []
    } catch let error as SpecError {
        return error.diagnostics
    }
}

func canonicalJSON<T: Encodable>(_ value: T) throws -> String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys]
    return String(decoding: try e.encode(value), as: UTF8.self)
}

struct SchemaProblem: Decodable {
    var path: String
    var message: String
}

struct SchemaFileReport: Decodable {
    var file: String
    var errors: [SchemaProblem]
}


/// Runs schemas/validate.py --json on `files`; fails the test (never skips) without python.
func validateWithSchema(_ files: [String]) throws -> [String: [SchemaProblem]] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", Repo.validator.path, "--json"] + files
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do {
        try process.run()
    } catch {
        XCTFail("cannot run python3 (needed for the schema check; install python3 with PyYAML and jsonschema): \(error)")
        throw error
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    if process.terminationStatus == 2 || process.terminationStatus == 127 {
        XCTFail("schema check needs python3 with PyYAML and jsonschema (`make deps` installs them): \(errText)")
        throw CocoaError(.featureUnsupported)
    }
    let reports = try JSONDecoder().decode([SchemaFileReport].self, from: data)
    return Dictionary(uniqueKeysWithValues: reports.map { ($0.file, $0.errors) })
}

