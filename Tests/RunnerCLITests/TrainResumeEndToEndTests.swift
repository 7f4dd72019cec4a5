import Foundation
import XCTest

/// SIGKILL of a real `runner step KEY` train process after its first epoch checkpoint: running the
/// step again resumes from the checkpoint and (deterministic: true, the default) ends bit-identical
/// to an uninterrupted run of the same experiment in another store.
final class TrainResumeEndToEndTests: XCTestCase {
    static let epochs = 4

    static func experiment() -> String {
        Workspace.dataExperiment(name: "resume", count: 24)
            .replacingOccurrences(of: "training: {epochs: 1, batch_size: 4}",
                                  with: "training: {epochs: \(epochs), batch_size: 4, deterministic: true, augment: [flip, rot90]}")
    }

    /// history.json without the wall-clock fields (seconds, samples/s), which no rerun reproduces.
    func history(_ ws: Workspace, _ key: String) throws -> [[String: Any]] {
        let url = ws.object(try XCTUnwrap(try ws.outputFiles(key)["history.json"]))
        let epochs = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [[String: Any]])
        return epochs.map { $0.filter { $0.key != "seconds" && $0.key != "samples_per_second" } }
    }

    func testKilledTrainStepResumesFromItsCheckpointAndMatchesAnUninterruptedRun() throws {
        XCTAssertTrue(Self.experiment().contains("epochs: \(Self.epochs)"), "the test experiment must train for several epochs")
        let reference = try Workspace("resume-reference")
        let killed = try Workspace("resume-killed")
        defer { reference.remove(); killed.remove() }
        for ws in [reference, killed] { try ws.write("exp.yaml", Self.experiment()) }

        // Interrupted: apply (1 core, so the step runs with 1 thread as the rerun below does) until the
        // train step's first epoch checkpoint exists, then SIGKILL that step process.
        let apply = try killed.start(["apply", "exp.yaml", "--cores", "1"])
        var trainKey = ""
        var checkpoint: URL { killed.store.appendingPathComponent("steps/\(trainKey)/scratch/checkpoint/training.json") }
        XCTAssertTrue(apply.waitUntil(timeout: 300) {
            guard let key = killed.stepKey(kind: "train") else { return false }
            trainKey = key
            return FileManager.default.fileExists(atPath: checkpoint.path)
        }, apply.stdoutSoFar + apply.stderrSoFar)
        let pid = try XCTUnwrap(killed.runningStepPIDs().first, "the train step is running")
        kill(pid, SIGSTOP)   // freeze it where it is, then check it is mid-training
        let saved = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: checkpoint)) as? [String: Any])
        let extra = try XCTUnwrap(saved["extra"] as? String).data(using: .utf8).flatMap { Data(base64Encoded: $0) }
        let state = try XCTUnwrap(extra.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] })
        let epochsDone = try XCTUnwrap(state["epochsDone"] as? Int)
        XCTAssertTrue((1..<Self.epochs).contains(epochsDone), "killed after epoch \(epochsDone) of \(Self.epochs)")
        kill(pid, SIGKILL)
        let interrupted = apply.wait()
        XCTAssertEqual(interrupted.status, 4, interrupted.stdout + interrupted.stderr)
        XCTAssertNil(try killed.records()["evaluate"], "evaluate did not run on a killed train step")

        // Run the same step again through the one entry point: it resumes.
        let resumed = try killed.run(["step", trainKey, "--store", ".runner", "--threads", "1"])
        XCTAssertEqual(resumed.status, 0, resumed.stdout + resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("resuming after epoch \(epochsDone)"), resumed.stdout)
        XCTAssertFalse(resumed.stdout.contains("epoch 1/\(Self.epochs) batch"), "epochs before the checkpoint are not trained again")
        // Progress lines (the TTY and the log show them): epoch, batch, loss, samples/s, ETA.
        let progress = resumed.stdout.split(separator: "\n").first { $0.contains("epoch \(epochsDone + 1)/\(Self.epochs) batch 1/") } ?? ""
        for part in ["loss ", "samples/s", "ETA "] { XCTAssertTrue(progress.contains(part), "'\(part)' in \(progress)") }
        let finished = try killed.run(["apply", "exp.yaml", "--cores", "1", "--json"])
        XCTAssertEqual(finished.status, 0, finished.stderr)
        XCTAssertEqual(ApplyEvents(finished.stdout).kinds(of: "finished"), ["evaluate", "report"], "train is cached now")

        // Uninterrupted, in another store.
        let clean = try reference.run(["apply", "exp.yaml", "--cores", "1"])
        XCTAssertEqual(clean.status, 0, clean.stdout + clean.stderr)
        let referenceKey = try XCTUnwrap(reference.stepKey(kind: "train"))
        XCTAssertEqual(referenceKey, trainKey, "same experiment, same content key")

        let a = try reference.outputFiles(referenceKey), b = try killed.outputFiles(trainKey)
        XCTAssertEqual(a["best.safetensors"], b["best.safetensors"], "best checkpoints are bit-identical")
        XCTAssertEqual(a["last.safetensors"], b["last.safetensors"], "last checkpoints are bit-identical")
        let h1 = try history(reference, referenceKey), h2 = try history(killed, trainKey)
        XCTAssertEqual(h1.count, Self.epochs)
        XCTAssertEqual(try JSONSerialization.data(withJSONObject: h1, options: [.sortedKeys]),
                       try JSONSerialization.data(withJSONObject: h2, options: [.sortedKeys]), "\(h1)\n\(h2)")
        let m1 = try reference.outputFiles(try XCTUnwrap(reference.stepKey(kind: "evaluate")))["metrics.json"]
        let m2 = try killed.outputFiles(try XCTUnwrap(killed.stepKey(kind: "evaluate")))["metrics.json"]
        XCTAssertEqual(m1, m2, "test metrics are bit-identical")
    }
}
