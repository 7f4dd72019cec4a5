import Foundation
import XCTest

/// Manifests, gates, `runner runs`, `runner check` and `runner reproduce` end to end: the real
/// binary on the tiny synthetic experiment (32³, 36 phantoms, 1 epoch of a 4-channel model).
final class RunsEndToEndTests: XCTestCase {
    private var ws: Workspace!
    override func setUpWithError() throws { ws = try Workspace("runs") }
    override func tearDown() { ws.remove() }

    private func experiment(seeds: [Int] = [1], gate: String = "") -> String {
        Workspace.dataExperiment().replacingOccurrences(of: "seeds: [1]", with: "seeds: [\(seeds.map(String.init).joined(separator: ", "))]")
            + (gate.isEmpty ? "" : "\ngate:\n" + gate)
    }

    private func json(_ text: String) throws -> Any { try JSONSerialization.jsonObject(with: Data(text.utf8)) }

    /// The manifest's text with the first `"name" : value` (a number, string or object) replaced, edited as
    /// text so that nothing else of the file changes (a JSON round trip could reformat numbers).
    private func editing(_ url: URL, _ name: String, to value: (String) -> String) throws -> String {
        let text = try String(contentsOf: url, encoding: .utf8)
        let pattern = "\"" + NSRegularExpression.escapedPattern(for: name) + "\" : (\\{[^}]*\\}|\"[^\"]*\"|[-0-9.eE+]+)"
        let regex = try NSRegularExpression(pattern: pattern)
        guard let match = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let whole = Range(match.range, in: text), let old = Range(match.range(at: 1), in: text) else {
            XCTFail("\(name) not in \(url.path)"); return text
        }
        return text.replacingCharacters(in: whole, with: "\"\(name)\" : " + value(String(text[old])))
    }

    private func manifests() throws -> [(id: String, object: [String: Any])] {
        let runs = ws.store.appendingPathComponent("runs")
        return try FileManager.default.contentsOfDirectory(atPath: runs.path).sorted().map { id in
            let data = try Data(contentsOf: runs.appendingPathComponent(id).appendingPathComponent("manifest.json"))
            return (id, try JSONSerialization.jsonObject(with: data) as! [String: Any])
        }
    }

    func testApplyRecordsManifestsWithChainBuildAndGatesAndRunsListsThem() throws {
        try ws.write("exp.yaml", experiment(seeds: [1, 2], gate: "  rmse: {max: 10}\n  ssim: {min: -1}"))
        let applied = try ws.run(["apply", "exp.yaml"])
        XCTAssertEqual(applied.status, 0, applied.stdout + applied.stderr)
        XCTAssertTrue(applied.stdout.contains("gate passed: rmse of baseline") && applied.stdout.contains("(2 seeds, 95% CI)"), applied.stdout)

        let runs = try manifests()
        XCTAssertEqual(runs.count, 2)
        for (id, m) in runs {
            XCTAssertEqual(m["experiment"] as? String, "tiny")
            XCTAssertEqual(m["variant"] as? String, "baseline")
            XCTAssertEqual(m["schema"] as? Int, 2)
            XCTAssertTrue(["debug", "release"].contains(m["buildConfiguration"] as? String ?? ""), "\(m)")
            let commit = m["runnerCommit"] as? String ?? ""
            XCTAssertTrue(commit == "unknown" || commit.count >= 40, commit)
            XCTAssertEqual(m["deterministic"] as? Bool, true)
            XCTAssertNotNil(m["trainCores"] as? Int)
            let host = m["host"] as! [String: Any]
            XCTAssertNotEqual(host["cpuModel"] as? String, "")
            XCTAssertNotNil(host["instructionSets"] as? [String])
            let blas = host["blas"] as! [String: Any]
            XCTAssertEqual(blas["name"] as? String, "OpenBLAS")
            XCTAssertFalse((blas["coreType"] as? String ?? "").isEmpty)
            let steps = m["steps"] as! [[String: Any]]
            XCTAssertEqual(steps.compactMap { $0["kind"] as? String }, ["generate", "clean", "split", "train", "evaluate"])
            XCTAssertEqual(steps.last?["key"] as? String, id)
            let gates = m["gates"] as! [[String: Any]]
            XCTAssertEqual(gates.compactMap { $0["metric"] as? String }.sorted(), ["rmse", "ssim"])
            XCTAssertTrue(gates.allSatisfy { $0["passed"] as? Bool == true && $0["seeds"] as? Int == 2 && $0["ciHalfWidth"] != nil }, "\(gates)")
        }

        let table = try ws.run(["runs"])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, table.stdout)
        XCTAssertTrue(lines[0].contains("experiment") && lines[0].contains("rmse") && lines[0].contains("finished"), table.stdout)
        XCTAssertTrue(lines[1].contains("tiny") && lines[1].contains("baseline") && lines[1].contains("passed"), table.stdout)

        let listed = try json(try ws.run(["runs", "--json", "--sort", "test.rmse"]).stdout) as! [[String: Any]]
        XCTAssertEqual(listed.count, 2)
        let rmse = listed.compactMap { ($0["metrics"] as? [String: Any])?["test.rmse"] as? Double }
        XCTAssertEqual(rmse, rmse.sorted(), "sorted best (lowest rmse) first")
        XCTAssertEqual(Set(listed.compactMap { $0["seed"] as? Int }), [1, 2])
        XCTAssertEqual((try json(try ws.run(["runs", "--json", "--variant", "nope"]).stdout) as! [Any]).count, 0)
        XCTAssertEqual((try json(try ws.run(["runs", "--json", "--experiment", "tiny", "--metric", "rmse"]).stdout) as! [Any]).count, 2)
        XCTAssertEqual((try json(try ws.run(["runs", "--json", "--metric", "no.such"]).stdout) as! [Any]).count, 0)
        XCTAssertEqual(try ws.run(["runs", "--store", "missing-store"]).status, 1)
    }

    func testCheckJudgesGatesOnStoredResultsWithoutTraining() throws {
        try ws.write("exp.yaml", experiment(gate: "  rmse: {max: 10}"))
        let early = try ws.run(["check", "exp.yaml"])
        XCTAssertEqual(early.status, 1, early.stdout + early.stderr)
        XCTAssertTrue(early.stderr.contains("evaluate[baseline, seed 1]") && early.stderr.contains("runner apply"), early.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ws.store.path), "check writes nothing")

        XCTAssertEqual(try ws.run(["apply", "exp.yaml"]).status, 0)
        let before = ws.storeFiles().sorted()
        let ok = try ws.run(["check", "exp.yaml"])
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        XCTAssertTrue(ok.stdout.contains("gate passed: rmse of baseline"), ok.stdout)
        let report = try json(try ws.run(["check", "exp.yaml", "--json"]).stdout) as! [String: Any]
        XCTAssertEqual(report["passed"] as? Bool, true)
        XCTAssertEqual(ws.storeFiles().sorted(), before, "check writes nothing")

        // A gate is not part of any key: a stricter one is judged on the same results, without training.
        try ws.write("exp.yaml", experiment(gate: "  rmse: {max: 0.000001}"))
        let strict = try ws.run(["check", "exp.yaml", "--json"])
        XCTAssertEqual(strict.status, 3, strict.stdout + strict.stderr)
        let gates = ((try json(strict.stdout) as! [String: Any])["experiments"] as! [[String: Any]])[0]["gates"] as! [[String: Any]]
        XCTAssertEqual(gates.first?["passed"] as? Bool, false)
        XCTAssertEqual(ws.storeFiles().sorted(), before)

        // Against a stored manifest (a path relative to the experiment file).
        let run = try manifests()[0]
        let manifestURL = ws.store.appendingPathComponent("runs/\(run.id)/manifest.json")
        try FileManager.default.createDirectory(at: ws.dir.appendingPathComponent("baselines"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: manifestURL, to: ws.dir.appendingPathComponent("baselines/ref.json"))
        try ws.write("exp.yaml", experiment(gate: "  rmse: {max_regression: 0%, against: baselines/ref.json}"))
        let same = try ws.run(["check", "exp.yaml"])
        XCTAssertEqual(same.status, 0, same.stdout + same.stderr)
        XCTAssertTrue(same.stdout.contains("manifest baselines/ref.json"), same.stdout)

        try ws.write("baselines/better.json", try editing(manifestURL, "test.rmse") { String(Double($0)! / 2) })
        try ws.write("exp.yaml", experiment(gate: "  rmse: {max_regression: 2%, against: baselines/better.json}"))
        let regressed = try ws.run(["check", "exp.yaml"])
        XCTAssertEqual(regressed.status, 3, regressed.stdout + regressed.stderr)
        XCTAssertTrue(regressed.stdout.contains("gate FAILED: rmse of baseline"), regressed.stdout)
        // apply exits 3 as well, records the failure in the run's manifest, and trains nothing.
        let applied = try ws.run(["apply", "exp.yaml", "--json"])
        XCTAssertEqual(applied.status, 3, applied.stdout + applied.stderr)
        XCTAssertEqual(ApplyEvents(applied.stdout).kinds(of: "started"), [])
        let recorded = (try manifests()[0].object["gates"] as! [[String: Any]])
        XCTAssertEqual(recorded.first?["passed"] as? Bool, false)
        XCTAssertTrue((recorded.first?["rule"] as? String ?? "").contains("better.json"), "\(recorded)")

        // Missing, malformed, or lacking the metric: invalid input, before anything runs.
        let noMetric = try editing(manifestURL, "finalMetrics") { _ in "{\"test.ssim\" : 0.5}" }
        for (file, text, expected) in [("gone.json", nil, "no such file"), ("bad.json", "{\"x\": 1}", "not a run manifest"),
                                       ("nometric.json", noMetric, "no finite rmse")] as [(String, String?, String)] {
            if let text { try ws.write(file, text) }
            try ws.write("exp.yaml", experiment(gate: "  rmse: {max_regression: 2%, against: \(file)}"))
            for command in ["check", "apply"] {
                let r = try ws.run([command, "exp.yaml"])
                XCTAssertEqual(r.status, 1, "\(command) \(file): " + r.stdout + r.stderr)
                XCTAssertTrue(r.stderr.contains(file) && r.stderr.contains(expected), "\(command): " + r.stderr)
            }
        }
    }

    func testReproduceFromTheManifestAloneIsIdenticalAndATamperedManifestIsNot() throws {
        try ws.write("exp.yaml", experiment())
        XCTAssertEqual(try ws.run(["apply", "exp.yaml"]).status, 0)
        let run = try manifests()[0]
        let copy = ws.dir.appendingPathComponent("run.json")
        try FileManager.default.copyItem(at: ws.store.appendingPathComponent("runs/\(run.id)/manifest.json"), to: copy)

        // Only the manifest: an empty store, so every step (data included) runs again in the scratch store.
        let empty = ws.dir.appendingPathComponent("empty-store").path
        let scratch = ws.dir.appendingPathComponent("scratch").path
        let r = try ws.run(["reproduce", "run.json", "--store", empty, "--scratch", scratch, "--json"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let result = try json(r.stdout) as! [String: Any]
        XCTAssertEqual(result["verdict"] as? String, "identical", r.stdout)
        XCTAssertEqual(result["reused"] as? [String], [])
        XCTAssertEqual((result["checkpoint"] as? [String: Any])?["identical"] as? Bool, true, r.stdout)
        let rows = result["metrics"] as! [[String: Any]]
        XCTAssertTrue(rows.contains { $0["metric"] as? String == "test.rmse" })
        XCTAssertTrue(rows.allSatisfy { $0["status"] as? String == "identical" })
        XCTAssertFalse(FileManager.default.fileExists(atPath: empty), "the store is only read")
        // The scratch store ran all five steps itself.
        let scratchSteps = try FileManager.default.contentsOfDirectory(atPath: scratch + "/steps")
        XCTAssertEqual(scratchSteps.count, 5)

        // A tampered metric: different, exit 3, with the diff table.
        let original = ws.store.appendingPathComponent("runs/\(run.id)/manifest.json")
        try ws.write("run.json", try editing(original, "test.rmse") { String(Double($0)! * 1.01) })
        let different = try ws.run(["reproduce", "run.json"])   // data steps reused from .runner, scratch in a temp dir
        XCTAssertEqual(different.status, 3, different.stdout + different.stderr)
        XCTAssertTrue(different.stdout.contains("test.rmse") && different.stdout.contains("different"), different.stdout)
        XCTAssertTrue(different.stdout.contains("NOT reproduced"), different.stdout)
        XCTAssertTrue(different.stderr.contains("reused from"), different.stderr)

        // Edited parameters no longer match their key; a fingerprint that differs is refused before training.
        let text = try String(contentsOf: original, encoding: .utf8)
        XCTAssertTrue(text.contains("\"seed\" : 28"), "the split seed is in the chain")
        try ws.write("run.json", text.replacingOccurrences(of: "\"seed\" : 28", with: "\"seed\" : 29"))
        let inconsistent = try ws.run(["reproduce", "run.json"])
        XCTAssertEqual(inconsistent.status, 1, inconsistent.stdout + inconsistent.stderr)
        XCTAssertTrue(inconsistent.stderr.contains("does not match its recorded"), inconsistent.stderr)

        try ws.write("run.json", try editing(original, "datasetFingerprint") { _ in "\"" + String(repeating: "0", count: 32) + "\"" })
        let refused = try ws.run(["reproduce", "run.json", "--json"])
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("not training on different data"), refused.stderr)

        for (args, code) in [(["reproduce", "nope.json"], 1), (["reproduce", "exp.yaml"], 1),
                             (["reproduce", "run.json", "--scratch", scratch], 1), (["reproduce", "run.json", "--scratch", ".runner"], 2),
                             (["reproduce", "run.json", "--tolerance", "-1"], 2)] {
            let bad = try ws.run(args)
            XCTAssertEqual(bad.status, Int32(code), "\(args): " + bad.stderr)
            XCTAssertFalse(bad.stderr.isEmpty)
        }
    }
}
