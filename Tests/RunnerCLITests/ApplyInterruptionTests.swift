import Foundation
import XCTest

/// Two applies on one store, SIGKILL and SIGINT during an apply: the real binary, real signals.
/// The apply under test is frozen with SIGSTOP where a test needs it to hold the lock, so nothing
/// depends on how fast the machine is.
final class ApplyInterruptionTests: XCTestCase {
    private var ws: Workspace!
    override func setUpWithError() throws { ws = try Workspace("interrupt") }
    override func tearDown() { ws.remove() }

    /// Enough phantoms that generate is still running when the test acts on it.
    private let bigCount = 120

    func testASecondApplyWaitsOrWithNoWaitNamesTheHolder() throws {
        try ws.write("exp.yaml", Workspace.dataExperiment(count: 48))
        let first = try ws.start(["apply", "exp.yaml"])
        XCTAssertTrue(first.waitUntil { first.stdoutSoFar.contains("apply:") }, first.stderrSoFar)
        first.signal(SIGSTOP)   // holds the lock, frozen

        let refused = try ws.run(["apply", "exp.yaml", "--no-wait"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderr.contains("pid \(first.process.processIdentifier)"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("runner unlock"), refused.stderr)

        let waiting = try ws.start(["apply", "exp.yaml"])
        XCTAssertTrue(waiting.waitUntil { waiting.stdoutSoFar.contains("waiting for the store lock") }, waiting.stdoutSoFar)
        first.signal(SIGCONT)
        XCTAssertEqual(first.wait().status, 0)
        let second = waiting.wait()
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stdout.contains("0 steps to run"), second.stdout)
    }

    /// Starts an apply and waits until its generate step process runs, then freezes that step
    /// (SIGSTOP) so it is certainly mid-generate whatever the machine's speed.
    private func applyFrozenInGenerate(_ extra: [String] = []) throws -> (apply: RunnerProcess, step: Int32) {
        try ws.write("exp.yaml", Workspace.dataExperiment(count: bigCount))
        let apply = try ws.start(["apply", "exp.yaml"] + extra)
        var step: Int32 = 0
        XCTAssertTrue(apply.waitUntil { if let pid = ws.runningStepPIDs().first { step = pid; return true }; return false },
                      apply.stdoutSoFar + apply.stderrSoFar)
        kill(step, SIGSTOP)
        return (apply, step)
    }

    func testSIGKILLOfApplyDuringGenerateThenApplyAgainFinishes() throws {
        let (apply, step) = try applyFrozenInGenerate(["--json"])
        apply.signal(SIGKILL)
        _ = apply.wait()
        kill(step, SIGCONT)   // the orphaned step notices its apply is gone and ends like a crash

        // No half artifact: generate has no record; its marker says it did not finish.
        XCTAssertNil(try ws.records()["generate"])
        XCTAssertFalse(ws.incompleteMarkers().isEmpty, "the crashed step left its marker")
        let again = try ws.run(["apply", "exp.yaml", "--json"])
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        XCTAssertEqual(ApplyEvents(again.stdout).kinds(of: "finished"), ["generate", "clean", "split", "train", "evaluate", "report"])
        XCTAssertTrue(ws.incompleteMarkers().isEmpty)
        XCTAssertEqual(try ws.run(["verify"]).status, 0)
    }

    func testSIGINTStopsCleanlyAndTheNextApplyContinues() throws {
        let (apply, step) = try applyFrozenInGenerate()
        apply.signal(SIGINT)
        XCTAssertTrue(apply.waitUntil { apply.stdoutSoFar.contains("SIGINT: stopping running steps") }, apply.stdoutSoFar)
        kill(step, SIGCONT)   // receives the SIGTERM apply sent and stops between phantoms
        let stopped = apply.wait()
        XCTAssertEqual(stopped.status, 130, stopped.stdout + stopped.stderr)
        XCTAssertTrue(stopped.stdout.contains("stopped generate"), stopped.stdout)
        XCTAssertTrue(stopped.stdout.contains("run the same apply again to continue"), stopped.stdout)
        XCTAssertNil(try ws.records()["generate"])
        XCTAssertTrue(ws.incompleteMarkers().isEmpty, "a stopped step is not a crashed one")
        XCTAssertFalse(FileManager.default.fileExists(atPath: ws.store.appendingPathComponent("lock").path), "lock released")

        let again = try ws.run(["apply", "exp.yaml"])
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
        XCTAssertEqual(try ws.records(), ["generate": ["succeeded"], "clean": ["succeeded"], "split": ["succeeded"],
                                          "train": ["succeeded"], "evaluate": ["succeeded"], "report": ["succeeded"]])
    }
}
