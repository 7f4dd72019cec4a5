import Foundation
import XCTest
import Spec

/// Every file in Fixtures/invalid/ is rejected by the loader with exactly the diagnostics its
/// `# expect: [file:]line:column message` comments name (`$DIR` = the fixture directory).
/// The schema side of the same corpus is checked in SchemaTests.
final class InvalidCorpusTests: XCTestCase {
    static let directory = Repo.fixtures.appendingPathComponent("invalid")

    static func fixtures() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "yaml" }.sorted { $0.path < $1.path }
    }

    static func expectations(of file: URL) throws -> [String] {
        try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("# expect: ") }.map { String($0.dropFirst("# expect: ".count)) }.sorted()
    }

    /// `line:column message` for the fixture itself, `relative/path:line:column message` otherwise.
    static func rendered(_ d: Diagnostic, fixture: URL) -> String {
        let dir = directory.path
        let message = d.message.replacingOccurrences(of: dir, with: "$DIR")
        guard let loc = d.location else { return "-:- \(message)" }
        let place = loc.file == fixture.path ? "" : loc.file.replacingOccurrences(of: dir + "/", with: "") + ":"
        return "\(place)\(loc.line):\(loc.column) \(message)"
    }

    func testEveryInvalidFileIsRejectedWithItsExpectedMessages() throws {
        let files = try Self.fixtures()
        XCTAssertGreaterThanOrEqual(files.count, 30)
        for file in files {
            let expected = try Self.expectations(of: file)
            XCTAssertFalse(expected.isEmpty, "\(file.lastPathComponent) has no '# expect:' line")
            do {
                _ = try ExperimentLoader.load(path: file.path)
                XCTFail("\(file.lastPathComponent) was accepted")
            } catch let error as SpecError {
                let actual = error.diagnostics.map { Self.rendered($0, fixture: file) }.sorted()
                XCTAssertEqual(actual, expected, "\(file.lastPathComponent):\n\(error)")
                XCTAssertTrue(error.diagnostics.allSatisfy { $0.severity == .error })
            }
        }
    }

    func testDiagnosticsAreTyped() throws {
        let expected: [String: Diagnostic.Code] = [
            "unknown-key-top.yaml": .unknownKey, "lr-wrong-type.yaml": .wrongType, "lr-negative.yaml": .outOfRange,
            "enum-typo.yaml": .notOneOf, "missing-name.yaml": .missingKey, "ratios-sum.yaml": .invalidValue,
            "syntax-error.yaml": .syntax, "duplicate-key.yaml": .duplicateKey, "alias-bomb.yaml": .tooManyNodes,
            "extends-missing.yaml": .fileUnreadable, "extends-cycle.yaml": .extendsCycle,
            "duplicate-variant.yaml": .duplicateVariant, "schedule-key-wrong-kind.yaml": .keyNotForKind,
        ]
        for (name, code) in expected {
            XCTAssertThrowsError(try ExperimentLoader.load(path: Self.directory.appendingPathComponent(name).path)) { error in
                XCTAssertEqual((error as? SpecError)?.diagnostics.map(\.code), [code], name)
            }
        }
    }

    /// The rendered form: file:line:column, the source line and a caret under the column.
    func testRenderingShowsSourceLineAndCaret() throws {
        let file = Self.directory.appendingPathComponent("lr-negative.yaml")
        do {
            _ = try ExperimentLoader.load(path: file.path)
            XCTFail("accepted")
        } catch let error as SpecError {
            XCTAssertEqual(error.description, """
                \(file.path):5:7: error: optimizer.lr must be > 0 (got -0.001)
                 5 |   lr: -0.001
                   |       ^
                1 error
                """)
            XCTAssertEqual(error.diagnostics.first?.path, "optimizer.lr")
        }
    }
}
