import Foundation
import XCTest

/// `runner apply` end to end: the real binary on small synthetic experiments (32³, a few dozen
/// phantoms) in temporary directories.
final class ApplyEndToEndTests: XCTestCase {
    private var ws: Workspace!
    override func setUpWithError() throws { ws = try Workspace("apply") }
    override func tearDown() { ws.remove() }

    func testApplyProducesCleanedSplitDataThenASecondApplyRunsNothing() throws {
        try ws.write("exp.yaml", Workspace.dataExperiment())
        let first = try ws.run(["apply", "exp.yaml"])
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        XCTAssertEqual(try ws.records().mapValues { $0 }, ["generate": ["succeeded"], "clean": ["succeeded"], "split": ["succeeded"],
                                                           "train": ["succeeded"], "evaluate": ["succeeded"], "report": ["succeeded"]])
        XCTAssertTrue(first.stdout.contains("report: best baseline"), first.stdout)
        XCTAssertTrue(ws.incompleteMarkers().isEmpty)

        let shown = try ws.run(["show", "split", "exp.yaml"])
        XCTAssertEqual(shown.status, 0, shown.stderr)
        for part in ["train", "val", "test", "stratum", "all"] { XCTAssertTrue(shown.stdout.contains(part), shown.stdout) }

        let second = try ws.run(["apply", "exp.yaml", "--json"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let events = ApplyEvents(second.stdout)
        XCTAssertEqual(events.kinds(of: "started"), [])
        XCTAssertEqual(events.planned?["to_run"] as? Int, 0)
        XCTAssertEqual(events.planned?["cached"] as? Int, 6)
    }

    func testChangingTheSplitSeedRerunsOnlyTheSplit() throws {
        try ws.write("exp.yaml", Workspace.dataExperiment(splitSeed: 28))
        XCTAssertEqual(try ws.run(["apply", "exp.yaml"]).status, 0)
        try ws.write("exp.yaml", Workspace.dataExperiment(splitSeed: 29))
        let plan = try ws.run(["plan", "exp.yaml"])
        XCTAssertEqual(plan.status, 0, plan.stderr)
        let splitLine = plan.stdout.split(separator: "\n").first { $0.contains(" split ") } ?? ""
        XCTAssertTrue(splitLine.contains("changed") && splitLine.contains("seed: 28 → 29"), plan.stdout)
        let again = try ws.run(["apply", "exp.yaml", "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        // Only the split and what depends on it (training, evaluation, the report) run again.
        XCTAssertEqual(ApplyEvents(again.stdout).kinds(of: "started"), ["split", "train", "evaluate", "report"])
        XCTAssertEqual(ApplyEvents(again.stdout).kinds(of: "finished"), ["split", "train", "evaluate", "report"])
    }

    func testASavedPlanAppliesOnceAndIsRefusedWhenStale() throws {
        try ws.write("exp.yaml", Workspace.dataExperiment())
        XCTAssertEqual(try ws.run(["plan", "exp.yaml", "-o", "plan.json"]).status, 0)
        let applied = try ws.run(["apply", "plan.json", "--json"])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertEqual(ApplyEvents(applied.stdout).kinds(of: "finished"), ["generate", "clean", "split", "train", "evaluate", "report"])
        let stale = try ws.run(["apply", "plan.json"])
        XCTAssertEqual(stale.status, 1)
        XCTAssertTrue(stale.stderr.contains("the saved plan is stale"), stale.stderr)
        XCTAssertTrue(stale.stderr.contains("the store changed"), stale.stderr)

        XCTAssertEqual(try ws.run(["plan", "exp.yaml", "-o", "plan.json"]).status, 0)
        try ws.write("exp.yaml", Workspace.dataExperiment(splitSeed: 5))
        let edited = try ws.run(["apply", "plan.json"])
        XCTAssertEqual(edited.status, 1)
        XCTAssertTrue(edited.stderr.contains("exp.yaml changed since the plan was made"), edited.stderr)
    }

    func testATypoIsInvalidInputWithItsLocationAndWritesNothing() throws {
        try ws.write("bad.yaml", """
        name: tiny
        data:
          source: {synthetic: {count: 24, size: 32, seed: 7}}
          splt: {seed: 3}
        """)
        let r = try ws.run(["apply", "bad.yaml"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("bad.yaml:4:3"), r.stderr)
        XCTAssertTrue(r.stderr.contains("did you mean 'data.split'"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ws.store.path), "nothing may be written to the store")
    }

    func testAFailingStepExits4AndIndependentStepsStillRun() throws {
        // An hdf5 source whose directory holds no phantom files: ingest fails (garbage files would
        // be ingested and then rejected by clean, which is not a failure).
        try FileManager.default.createDirectory(at: ws.dir.appendingPathComponent("no-phantoms"), withIntermediateDirectories: true)
        try ws.write("broken.yaml", """
        name: broken
        data:
          source: {hdf5: {dir: no-phantoms}}
        """)
        try ws.write("fine.yaml", Workspace.dataExperiment(name: "fine"))
        let r = try ws.run(["apply", "broken.yaml", "fine.yaml", "--json"])
        XCTAssertEqual(r.status, 4, r.stdout + r.stderr)
        let events = ApplyEvents(r.stdout)
        XCTAssertEqual(events.kinds(of: "failed"), ["ingest"], r.stdout)
        XCTAssertEqual(events.kinds(of: "finished"), ["generate", "clean", "split", "train", "evaluate", "report"], "the independent experiment finishes")
        let failed = try XCTUnwrap(events.lines.first { $0["event"] as? String == "failed" })
        let message = failed["message"] as? String ?? ""
        XCTAssertTrue(message.contains("no-phantoms") && message.contains("phantom"), message)
        let log = try XCTUnwrap(failed["log"] as? String)
        XCTAssertTrue(try String(contentsOfFile: log, encoding: .utf8).contains("holds no"), log)
        let skipped = events.lines.filter { $0["event"] as? String == "skipped" && $0["kind"] as? String == "clean" }
        XCTAssertEqual(skipped.first?["reason"] as? String, "not run: input broken/ingest failed")
    }

    func testACorruptedObjectIsFoundByVerifyAndRepaired() throws {
        try ws.write("exp.yaml", Workspace.dataExperiment())
        XCTAssertEqual(try ws.run(["apply", "exp.yaml"]).status, 0)
        XCTAssertEqual(try ws.run(["verify"]).status, 0)
        // Corrupt the largest object (a model checkpoint).
        let objects = ws.storeFiles().filter { $0.hasPrefix("objects/") && !$0.hasPrefix("objects/tmp") }
        let victim = try XCTUnwrap(objects.max { size($0) < size($1) })
        let url = ws.store.appendingPathComponent(victim)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        let handle = try FileHandle(forWritingTo: url)
        handle.seek(toFileOffset: 100)
        handle.write(Data(repeating: 0xAB, count: 16))
        try handle.close()

        let found = try ws.run(["verify"])
        XCTAssertEqual(found.status, 1)
        XCTAssertTrue(found.stdout.contains("corrupt object"), found.stdout)
        let repaired = try ws.run(["verify", "--repair"])
        XCTAssertEqual(repaired.status, 0, repaired.stderr)
        XCTAssertTrue(repaired.stdout.contains("repaired"), repaired.stdout)
        let again = try ws.run(["apply", "exp.yaml", "--json"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(ApplyEvents(again.stdout).kinds(of: "finished").contains("train"), "the step that made it runs again: \(again.stdout)")
        XCTAssertEqual(try ws.run(["verify"]).status, 0)
    }

    private func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: ws.store.appendingPathComponent(path).path))?[.size] as? Int) ?? 0
    }
}
