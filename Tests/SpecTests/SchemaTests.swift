import Foundation
import XCTest
import Spec

/// schemas/experiment.schema.json checked by an independent validator (python `jsonschema`):
/// every shipped experiment is valid; every invalid fixture is rejected where the schema can
/// express the rule (its `# schema: reject [text]` line; `text` must appear in an error's key
/// path or message), and accepted where it cannot (`# schema: accept`: the loader alone rejects it).
final class SchemaTests: XCTestCase {
    struct FileReport: Decodable {
        struct Problem: Decodable {
            var path: String
            var message: String
        }
        var file: String
        var errors: [Problem]
    }

    /// Runs schemas/validate.py --json on `files`; fails the test (never skips) without python.
    func validate(_ files: [String]) throws -> [String: [FileReport.Problem]] {
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
        let reports = try JSONDecoder().decode([FileReport].self, from: data)
        return Dictionary(uniqueKeysWithValues: reports.map { ($0.file, $0.errors) })
    }

    func testSchemaIsUpToDateWithItsGenerator() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repo.root.appendingPathComponent("schemas/generate.py").path, "--check"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0,
                       String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    func testEveryExperimentFileIsValid() throws {
        let files = Repo.experimentFiles()
        let results = try validate(files)
        XCTAssertEqual(results.count, files.count)
        for (file, errors) in results {
            XCTAssertTrue(errors.isEmpty, "\(file): \(errors.map { "\($0.path): \($0.message)" })")
        }
        // And each file names the schema for editors.
        for file in files {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let depth = file.dropFirst(Repo.experiments.path.count + 1).filter { $0 == "/" }.count
            let expected = "# yaml-language-server: $schema=" + String(repeating: "../", count: depth + 1)
                + "schemas/experiment.schema.json"
            XCTAssertTrue(text.hasPrefix(expected), "\(file) should start with '\(expected)'")
        }
    }

    func testInvalidCorpusAgainstSchema() throws {
        var expectations: [String: String] = [:]
        for file in try InvalidCorpusTests.fixtures() {
            let text = try String(contentsOf: file, encoding: .utf8)
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("# schema: ") }) else {
                XCTFail("\(file.lastPathComponent) has no '# schema:' line")
                continue
            }
            let rule = String(line.dropFirst("# schema: ".count))
            if rule != "skip" { expectations[file.path] = rule }  // skip: the YAML reader's concern (alias bombs)
        }
        let results = try validate(expectations.keys.sorted())
        var rejected = 0
        for (file, rule) in expectations.sorted(by: { $0.key < $1.key }) {
            let errors = results[file] ?? []
            let name = (file as NSString).lastPathComponent
            if rule == "accept" {
                XCTAssertTrue(errors.isEmpty, "\(name): the schema was expected to accept it (loader-only rule), "
                              + "got \(errors.map(\.message))")
            } else {
                XCTAssertTrue(rule.hasPrefix("reject"), "\(name): bad '# schema:' line '\(rule)'")
                XCTAssertFalse(errors.isEmpty, "\(name): the schema accepted it")
                let text = rule.dropFirst("reject".count).trimmingCharacters(in: .whitespaces)
                if !text.isEmpty {
                    XCTAssertTrue(errors.contains { $0.path.contains(text) || $0.message.contains(text) },
                                  "\(name): no schema error mentions '\(text)': \(errors.map { "\($0.path): \($0.message)" })")
                }
                rejected += 1
            }
        }
        XCTAssertGreaterThanOrEqual(rejected, 20, "most of the corpus should be expressible in the schema")
    }

    /// The schema's closed lists are the loader's (the generator keeps its own copy of them).
    func testSchemaListsMatchTheLoader() throws {
        let data = try Data(contentsOf: Repo.schema)
        let schema = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let defs = try XCTUnwrap(schema["$defs"] as? [String: Any])
        func enumeration(_ name: String) -> [String]? { (defs[name] as? [String: Any])?["enum"] as? [String] }
        XCTAssertEqual(enumeration("metric"), Metrics.all)
        XCTAssertEqual(enumeration("validation_metric"), Metrics.validation)
        let properties = try XCTUnwrap(schema["properties"] as? [String: Any])
        XCTAssertEqual(Set(properties.keys), Set(["name", "description", "extends", "data", "model", "loss", "optimizer",
                                                  "schedule", "training", "evaluate", "gate", "seeds", "executor",
                                                  "matrix", "ablate", "variants"]))
        let text = String(decoding: data, as: UTF8.self)
        for key in StratifyKey.allCases { XCTAssertTrue(text.contains("\"\(key.rawValue)\""), key.rawValue) }
        for kind in ScheduleSpec.Kind.allCases { XCTAssertTrue(text.contains("\"\(kind.rawValue)\""), kind.rawValue) }
    }
}
