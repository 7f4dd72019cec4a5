import Foundation
import Phantoms
import Spec
import Steps
import Store
import XCTest

/// Runs the data steps the way `runner step` does: each gets an empty output directory, its
/// inputs as artifact trees and an `objectPath` that resolves digests; the outputs are collected
/// into a small object table (what the store does with every file of the output directory).
final class DataStepsTests: XCTestCase {
    final class Objects {
        var paths: [String: URL] = [:]
        let root: URL
        var counter = 0
        init(root: URL) { self.root = root }

        /// Moves every file of `dir` into the table and returns the step's artifact tree.
        func collect(_ dir: URL, result: StepResult) throws -> ArtifactTree {
            var files = result.linkedFiles
            let enumerator = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey])!
            for case let url as URL in enumerator where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
                let rel = String(url.standardizedFileURL.path.dropFirst(dir.standardizedFileURL.path.count + 1))
                counter += 1
                let digest = String(format: "%064x", counter)
                let object = root.appendingPathComponent(digest)
                try FileManager.default.moveItem(at: url, to: object)
                paths[digest] = object
                files[rel] = digest
            }
            return ArtifactTree(files: files, summary: result.summary)
        }
    }

    var objects: Objects!
    var base: URL!

    override func setUpWithError() throws {
        base = FileManager.default.temporaryDirectory.appendingPathComponent("steps-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base.appendingPathComponent("objects"), withIntermediateDirectories: true)
        objects = Objects(root: base.appendingPathComponent("objects"))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: base) }

    func run<S: StepImplementation>(_ step: S, params: JSONValue, inputs: [String: ArtifactTree] = [:], threads: Int = 2,
                                    progress: @escaping (StepProgress) -> Void = { _ in }) throws -> (ArtifactTree, URL) {
        let out = base.appendingPathComponent("out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let paths = objects!
        let context = StepContext(inputs: inputs, objectPath: { digest in
            guard let url = paths.paths[digest] else { throw StepError("no object \(digest)") }
            return url
        }, outputDirectory: out, scratchDirectory: base, threads: threads, progress: progress, isCancelled: { false })
        let request = StepRequest(key: "k", kind: S.kind, name: S.kind.rawValue, params: params, inputs: [:], cores: threads)
        let result = try step.run(request, context: context)
        let keep = out.appendingPathComponent("..").appendingPathComponent("copy-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: out, to: keep)
        return (try objects.collect(out, result: result), keep)
    }

    func params<T: Encodable>(_ value: T) throws -> JSONValue { try JSONValue(encoding: value) }

    func bytes(_ tree: ArtifactTree, _ path: String) throws -> Data { try Data(contentsOf: objects.paths[tree.files[path]!]!) }

    func testGenerateCleanSplitEndToEnd() throws {
        let source = SyntheticSource(count: 30, size: 32, seed: 5)
        var reported: [Int] = []
        let (generated, _) = try run(GenerateStep(), params: try params(source), threads: 2, progress: { reported.append($0.done) })
        XCTAssertEqual(generated.files.count, 30)
        XCTAssertEqual(reported.last, 30)
        XCTAssertEqual(generated.summary[path: "phantoms"], .number(30))
        // Same bytes with one thread.
        let (single, _) = try run(GenerateStep(), params: try params(source), threads: 1)
        for path in generated.files.keys { XCTAssertEqual(try bytes(generated, path), try bytes(single, path), path) }

        let (cleaned, _) = try run(CleanStep(), params: try params(CleanSpec()), inputs: ["data": generated])
        let report = try JSONValue(jsonData: bytes(cleaned, "cleaning-report.json"))
        guard case .array(let accepted)? = report[path: "accepted"] else { return XCTFail("no accepted list") }
        XCTAssertEqual(accepted.count, 30)
        XCTAssertEqual(cleaned.summary[path: "accepted"], .number(30))
        // Accepted files are re-used, not copied: same digests as the generate step's.
        for (path, digest) in generated.files { XCTAssertEqual(cleaned.files[path], digest) }

        let splitSpec = SplitSpec(ratios: SplitRatios(train: 0.6, val: 0.2, test: 0.2), stratifyBy: [.tumourCount], seed: 3)
        let (split, _) = try run(SplitStep(), params: try params(splitSpec), inputs: ["data": cleaned])
        let doc = try JSONValue(jsonData: bytes(split, "split.json"))
        var all: [Int] = []
        for part in ["train", "val", "test"] {
            guard case .array(let ids)? = doc[path: "parts.\(part)"] else { return XCTFail("no part \(part)") }
            all += ids.map { if case .number(let d) = $0 { return Int(d) } else { return -1 } }
        }
        XCTAssertEqual(all.sorted(), Array(0..<30))
        XCTAssertEqual(split.summary[path: "train"].flatMap { if case .number(let d) = $0 { return Int(d) }; return nil }.map { $0 >= 16 && $0 <= 20 }, true)
        guard case .array(let strata)? = doc[path: "strata"] else { return XCTFail("no strata") }
        XCTAssertFalse(strata.isEmpty)
        // Another seed, another split; the same seed, the same bytes.
        let (again, _) = try run(SplitStep(), params: try params(splitSpec), inputs: ["data": cleaned])
        XCTAssertEqual(try bytes(again, "split.json"), try bytes(split, "split.json"))
        var other = splitSpec; other.seed = 4
        let (otherSplit, _) = try run(SplitStep(), params: try params(other), inputs: ["data": cleaned])
        XCTAssertNotEqual(try bytes(otherSplit, "split.json"), try bytes(split, "split.json"))
    }

    func testIngestH5pyFilesAndCleanRejectsDefects() throws {
        let dir = base.appendingPathComponent("h5py")
        let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/generate_numpy.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", tools.path, "write", "--count", "4", "--size", "32", "--seed", "2", "--out", dir.path, "--measurements"]
        try process.run(); process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "h5py reference writer failed (python3, numpy and h5py are required)")
        // Two defects next to them: a truncated copy of phantom 0 and a copy of phantom 1 under id 9.
        let data0 = try Data(contentsOf: PhantomIO.fileURL(directory: dir, id: 0))
        for (id, data) in [(8, data0.prefix(data0.count / 2)), (9, try Data(contentsOf: PhantomIO.fileURL(directory: dir, id: 1)))] {
            let url = PhantomIO.fileURL(directory: dir, id: id)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        let (ingested, _) = try run(IngestStep(), params: .object(["dir": .string(dir.path), "files": .number(6), "listing_sha256": .string("x")]))
        XCTAssertEqual(ingested.files.keys.sorted(), [0, 1, 2, 3, 8, 9].map(PhantomIO.relativePath(id:)).sorted())
        XCTAssertEqual(try bytes(ingested, PhantomIO.relativePath(id: 2)), try Data(contentsOf: PhantomIO.fileURL(directory: dir, id: 2)))

        let (cleaned, _) = try run(CleanStep(), params: try params(CleanSpec()), inputs: ["data": ingested])
        XCTAssertEqual(cleaned.summary[path: "accepted"], .number(4))
        XCTAssertEqual(cleaned.summary[path: "reasons.unreadable"], .number(1))
        XCTAssertEqual(cleaned.summary[path: "reasons.duplicate"], .number(1))
        XCTAssertNil(cleaned.files[PhantomIO.relativePath(id: 8)])
        XCTAssertNil(cleaned.files[PhantomIO.relativePath(id: 9)])
        let report = try JSONValue(jsonData: bytes(cleaned, "cleaning-report.json"))
        guard case .array(let rejected)? = report[path: "rejected"] else { return XCTFail("no rejected list") }
        XCTAssertEqual(rejected.compactMap { $0[path: "id"] }, [.number(8), .number(9)])
        XCTAssertEqual(rejected.last?[path: "reasons"], .array([.object(["code": .string("duplicate"), "message": .string("duplicate of phantom 1")])]))
    }

    func testBadParametersAndInputsAreStepErrors() throws {
        XCTAssertThrowsError(try run(GenerateStep(), params: .object(["count": .string("ten")]))) { XCTAssert($0 is StepError) }
        XCTAssertThrowsError(try run(IngestStep(), params: .object(["dir": .string(base.appendingPathComponent("missing").path)]))) { error in
            XCTAssertTrue("\(error)".contains("does not exist"), "\(error)")
        }
        XCTAssertThrowsError(try run(CleanStep(), params: try params(CleanSpec()))) { XCTAssertTrue("\($0)".contains("missing input 'data'")) }
        XCTAssertThrowsError(try run(SplitStep(), params: try params(SplitSpec()), inputs: ["data": ArtifactTree()])) {
            XCTAssertTrue("\($0)".contains("cleaning-report.json"))
        }
    }
}

extension DataStepsTests {
    func testGenerateStopsWhenCancelled() throws {
        let out = base.appendingPathComponent("cancelled")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let context = StepContext(inputs: [:], objectPath: { _ in throw StepError("none") }, outputDirectory: out,
                                  scratchDirectory: base, threads: 1, progress: { _ in }, isCancelled: { true })
        let request = StepRequest(key: "k", kind: .generate, name: "generate", params: try params(SyntheticSource(count: 50, size: 32, seed: 1)),
                                  inputs: [:], cores: 1)
        XCTAssertThrowsError(try GenerateStep().run(request, context: context)) { XCTAssertTrue("\($0)".contains("cancelled")) }
    }
}
