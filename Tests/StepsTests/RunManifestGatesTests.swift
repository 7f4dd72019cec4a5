import Foundation
import Spec
import Steps
import Store
import XCTest

/// Gates against stored manifests, gate results as manifests record them, the reproduce
/// comparison, and what manifests say about the build.
final class RunManifestGatesTests: XCTestCase {
    private var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-gates-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func manifest(_ metrics: [String: Double], split: String = "test") -> Manifest {
        let blas = BLASDescription(name: "OpenBLAS", version: "x", coreType: "Haswell", threads: 1)
        return Manifest(runID: String(repeating: "a", count: 64), experiment: "e", variant: "baseline",
                        config: .object(["evaluate": .object(["split": .string(split)])]), inputKeys: [:],
                        datasetFingerprint: "d", splitFingerprint: "s", seed: 1, runnerVersion: "0.1.0",
                        host: HostDescription.detect(threads: 1, blas: blas), finalMetrics: metrics, started: Date())
    }

    private func write(_ m: Manifest, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try m.write(to: url)
        return url.path
    }

    func testRegressionAgainstAStoredManifestUsesItsFinalMetric() throws {
        let path = try write(manifest(["test.rmse": 0.1, "test.ssim": 0.8, "test.rmse.mua": 0.01]), "base.json")
        var stored: [String: Gates.StoredBaseline] = [:]
        let rules = ["rmse": GateRule(maxRegression: .relative(0.02), against: .manifest(path)),
                     "ssim": GateRule(minChange: -0.05, against: .manifest(path))]
        try Gates.storedBaselines(rules, loaded: &stored)
        XCTAssertEqual(stored[path]?.metrics, ["rmse": 0.1, "ssim": 0.8, "rmse.mua": 0.01])

        let results: [String: [String: [Double]]] = ["v": ["rmse": [0.101, 0.1012], "ssim": [0.76, 0.77]]]
        let pass = Gates.evaluate(rules, variant: "v", results: results, stored: stored)
        XCTAssertEqual(pass.map(\.metric), ["rmse", "ssim"])
        XCTAssertEqual(pass.map(\.passed), [true, true], pass.map(\.message).joined(separator: "\n"))
        XCTAssertEqual(pass[0].limit, 0.102, accuracy: 1e-12)
        XCTAssertEqual(pass[0].comparison, "<=")
        XCTAssertTrue(pass[0].message.contains("manifest \(path)"), pass[0].message)
        XCTAssertTrue(pass[0].message.contains("2 seeds, 95% CI"), pass[0].message)

        let worse: [String: [String: [Double]]] = ["v": ["rmse": [0.103], "ssim": [0.74]]]
        XCTAssertEqual(Gates.evaluate(rules, variant: "v", results: worse, stored: stored).map(\.passed), [false, false])
        // Not loaded: the gate fails rather than passing silently.
        XCTAssertEqual(Gates.evaluate(rules, variant: "v", results: results, stored: [:]).map(\.passed), [false, false])
    }

    func testAStoredManifestOfAnotherSplitIsReadByItsSplit() throws {
        let path = try write(manifest(["val.rmse": 0.2], split: "val"), "val.json")
        var stored: [String: Gates.StoredBaseline] = [:]
        try Gates.storedBaselines(["rmse": GateRule(maxRegression: .absolute(0), against: .manifest(path))], loaded: &stored)
        XCTAssertEqual(stored[path]?.metrics["rmse"], 0.2)
    }

    func testBadBaselineManifestsAreClearErrors() throws {
        let missing = dir.appendingPathComponent("nope.json").path
        XCTAssertThrowsError(try Gates.StoredBaseline.load(path: missing)) { error in
            XCTAssertTrue("\(error)".contains("nope.json") && "\(error)".contains("no such file"), "\(error)")
        }
        let garbage = dir.appendingPathComponent("garbage.json")
        try Data("{\"runID\": 3}".utf8).write(to: garbage)
        XCTAssertThrowsError(try Gates.StoredBaseline.load(path: garbage.path)) { error in
            XCTAssertTrue("\(error)".contains("not a run manifest"), "\(error)")
        }
        let path = try write(manifest(["test.ssim": 0.8]), "nossim.json")
        var stored: [String: Gates.StoredBaseline] = [:]
        XCTAssertThrowsError(try Gates.storedBaselines(["rmse": GateRule(maxRegression: .relative(0.02), against: .manifest(path))], loaded: &stored)) { error in
            XCTAssertTrue(error is GateError)
            XCTAssertTrue("\(error)".contains("no finite rmse") && "\(error)".contains("ssim"), "\(error)")
        }
        // Absolute rules and variant baselines read no manifest.
        var none: [String: Gates.StoredBaseline] = [:]
        try Gates.storedBaselines(["rmse": GateRule(max: 1), "ssim": GateRule(maxRegression: .absolute(0.1), against: .variant("b"))], loaded: &none)
        XCTAssertTrue(none.isEmpty)
    }

    func testGateResultsAsManifestsRecordThem() throws {
        let outcomes = Gates.evaluate(["rmse": GateRule(max: 0.083), "psnr": GateRule(min: 20)], variant: "b",
                                      results: ["b": ["rmse": [0.080, 0.084]]])
        let results = outcomes.map(Gates.result)
        let psnr = try XCTUnwrap(results.first { $0.metric == "psnr" })
        XCTAssertEqual(psnr.comparison, ">=")
        XCTAssertNil(psnr.value)
        XCTAssertFalse(psnr.passed)
        let rmse = try XCTUnwrap(results.first { $0.metric == "rmse" })
        XCTAssertEqual(rmse.comparison, "<=")
        XCTAssertEqual(rmse.threshold, 0.083)
        XCTAssertEqual(rmse.value!, 0.082, accuracy: 1e-12)
        XCTAssertEqual(rmse.ciHalfWidth!, 12.706 * 0.002, accuracy: 1e-9)
        XCTAssertEqual(rmse.seeds, 2)
        XCTAssertEqual(rmse.rule, "max 0.083")
        XCTAssertTrue(rmse.passed)
        // They survive the manifest's JSON.
        var m = manifest(["test.rmse": 0.082])
        m.gates = results
        let back = try Manifest.read(from: URL(fileURLWithPath: try write(m, "gates.json")))
        XCTAssertEqual(back.gates, results)
    }

    func testSchemaOneManifestsStillRead() throws {
        var object = try JSONSerialization.jsonObject(with: StoreJSON.encode(manifest(["test.rmse": 0.1]))) as! [String: Any]
        for key in ["buildConfiguration", "deterministic", "trainCores", "steps", "runnerCommit"] { object.removeValue(forKey: key) }
        object["schema"] = 1
        let m = try StoreJSON.decode(Manifest.self, from: JSONSerialization.data(withJSONObject: object))
        XCTAssertNil(m.steps)
        XCTAssertEqual(m.metric("rmse"), 0.1)
        XCTAssertEqual(m.metric("test.rmse"), 0.1)
        XCTAssertNil(m.metric("ssim"))
    }

    func testRunComparison() {
        let a = ["test.rmse": 0.1, "test.ssim": 0.5, "test.psnr": 20.0]
        XCTAssertEqual(RunComparison.compare(recorded: a, reproduced: a, tolerance: 0).verdict, .identical)
        var b = a
        b["test.ssim"] = 0.5 * (1 + 1e-9)
        let close = RunComparison.compare(recorded: a, reproduced: b, tolerance: 1e-6)
        XCTAssertEqual(close.verdict, .withinTolerance)
        XCTAssertEqual(close.rows.map(\.status), [.identical, .identical, .withinTolerance])   // psnr, rmse, ssim
        XCTAssertEqual(RunComparison.compare(recorded: a, reproduced: b, tolerance: 1e-12).verdict, .different)
        b["test.rmse"] = 0.2
        let far = RunComparison.compare(recorded: a, reproduced: b, tolerance: 1e-6)
        XCTAssertEqual(far.verdict, .different)
        XCTAssertEqual(far.rows.first { $0.metric == "test.rmse" }?.difference ?? 0, 0.1, accuracy: 1e-12)
        XCTAssertTrue(far.table.contains("test.rmse") && far.table.contains("different"), far.table)
        // A metric on one side only is a difference.
        XCTAssertEqual(RunComparison.compare(recorded: a, reproduced: a.filter { $0.key != "test.psnr" }, tolerance: 1).verdict, .different)
        XCTAssertEqual(RunComparison.compare(recorded: [:], reproduced: [:], tolerance: 1).verdict, .different)
    }

    func testBuildInfoNamesTheCommitOfTheSourcesOrUnknown() throws {
        XCTAssertTrue(["debug", "release"].contains(BuildInfo.configuration))
        XCTAssertEqual(BuildInfo.commit(sourceRoot: dir), "unknown")
        // The tests are built from this checkout: the commit is its HEAD (maybe -dirty).
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", root.path, "rev-parse", "HEAD"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let head = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("not a git checkout") }
        XCTAssertTrue(BuildInfo.commit().hasPrefix(head), "\(BuildInfo.commit()) vs \(head)")
    }

    func testRequestChainListsInputsFirstFromTheRecords() throws {
        let store = try RunnerStore(root: dir.appendingPathComponent("store"))
        func key(_ c: Character) -> String { String(repeating: c, count: 64) }
        func record(_ k: String, _ kind: String, inputs: [String: String]) throws {
            let request = StepRequestRecord(key: k, kind: kind, name: kind, params: .object(["p": .string(kind)]), inputs: inputs, cores: 2)
            try store.writeRequest(request)
            try store.writeRecord(StepRecord(request: request, status: .succeeded, started: Date(), finished: Date(), host: "h", pid: 1,
                                             logPath: "steps/\(k)/log.txt", runnerVersion: "0.1.0"))
        }
        try record(key("a"), "generate", inputs: [:])
        try record(key("b"), "clean", inputs: ["source": key("a")])
        try record(key("c"), "split", inputs: ["data": key("b")])
        try record(key("d"), "train", inputs: ["data": key("b"), "split": key("c")])
        let chain = try store.requestChain(of: key("d"), versions: ["generate": 1, "clean": 1, "split": 1, "train": 3])
        XCTAssertEqual(chain.map(\.kind), ["generate", "clean", "split", "train"])
        XCTAssertEqual(chain.last?.version, 3)
        XCTAssertEqual(chain.last?.inputs, ["data": key("b"), "split": key("c")])
        XCTAssertEqual(chain[1].params, .object(["p": .string("clean")]))
        XCTAssertThrowsError(try store.requestChain(of: key("e"), versions: [:]))
    }
}
