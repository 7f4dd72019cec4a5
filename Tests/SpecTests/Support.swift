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
