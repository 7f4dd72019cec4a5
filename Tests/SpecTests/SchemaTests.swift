import Foundation
import XCTest
import Spec

/// schemas/experiment.schema.json checked by an independent validator (python `jsonschema`):
/// every shipped experiment is valid; every invalid fixture is rejected where the schema can
/// express the rule (its `# schema: reject [text]` line; `text` must appear in an error's key
/// path or message), and accepted where it cannot (`# schema: accept`: the loader alone rejects it).
final class SchemaTests: XCTestCase {
    func validate(_ files: [String]) throws -> [String: [SchemaProblem]] { try validateWithSchema(files) }

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

/// Fixtures/valid/: files using every key and every shorthand, accepted by both the loader and
/// the schema (so the schema is not stricter than the format).
final class ValidCorpusTests: XCTestCase {
    static func files() throws -> [String] {
        let dir = Repo.fixtures.appendingPathComponent("valid")
        return try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { dir.appendingPathComponent($0).path }
    }

    func testLoaderAndSchemaAcceptTheValidCorpus() throws {
        let files = try Self.files()
        XCTAssertGreaterThanOrEqual(files.count, 4)
        for file in files {
            XCTAssertNoThrow(try ExperimentLoader.load(path: file), file)
        }
        let results = try validateWithSchema(files)
        for (file, errors) in results {
            XCTAssertTrue(errors.isEmpty, "\(file): \(errors.map { "\($0.path): \($0.message)" })")
        }
    }

    func testEveryKnobFile() throws {
        let loaded = try ExperimentLoader.load(path: try Self.files().first { $0.hasSuffix("every-knob.yaml") }!)
        let e = loaded.experiment
        XCTAssertEqual(loaded.variants.map(\.name), ["baseline", "plateau", "cosine", "phases", "adamw", "gated", "wide"])
        XCTAssertEqual(e.optimizer, OptimizerSpec(kind: .sgd, lr: 0.01, betas: [0.8, 0.9], eps: 1e-6, momentum: 0.95,
                                                  nesterov: true, weightDecay: .scheduled(from: 5e-4, to: 1e-5, shape: .cosine),
                                                  gradClip: 1.0))
        XCTAssertEqual(e.schedule, .onecycle(OneCycleSchedule(maxLR: 0.05, pctStart: 0.25, divFactor: 10, finalDivFactor: 100,
                                                              anneal: .linear)))
        XCTAssertEqual(e.training, TrainingSpec(epochs: 4, batchSize: 8, accumulate: 2,
                                                earlyStopping: EarlyStoppingSpec(enabled: true, patience: 2, metric: "val.ssim",
                                                                                 minDelta: 0.001),
                                                precision: .bf16, augment: [.flip, .rot90], gradientCheckpointing: true,
                                                standardizeTargets: true, ema: 0.99, deterministic: false))
        XCTAssertEqual(e.evaluate, EvaluateSpec(split: .val, metrics: ["rmse", "psnr.musp", "mae.mua"], dataRange: 2.0,
                                                checkpoint: .last))
        XCTAssertEqual(e.gate["rmse"], GateRule(max: 0.2, min: 0.0, maxRegression: .relative(0.015), against: .variant("baseline")))
        XCTAssertEqual(e.executor, .slurm(SlurmSpec(partition: "cpu", account: "lab", time: "1-02:00:00", qos: "normal",
                                                    extraArgs: ["--mem=8G"], retries: 2)))
        let gated = loaded.variants[5].experiment
        XCTAssertEqual(gated.gate["rmse"]?.max, 0.3)
        XCTAssertEqual(gated.gate["rmse"]?.maxRegression, .relative(0.015), "a dotted gate override merges")
        XCTAssertEqual(gated.gate["ssim"], GateRule(min: 0.1))
        XCTAssertEqual(loaded.variants[6].experiment.data.split.bins["tumour_volume"], 3)
        XCTAssertEqual(loaded.variants[2].experiment.schedule, .cosine(CosineSchedule(warmupEpochs: 1, warmupStartFactor: 0.5,
                                                                                       minLR: 1e-6)))
    }
}
