import Foundation
import XCTest

/// `runner predict` and `runner export` through the real binary, with a tiny model trained once
/// per class by `runner apply` (32³, base_channels 4, standardised targets) and input phantoms written by h5py.
final class PredictEndToEndTests: XCTestCase {
    private static var trained: Workspace?
    private static let inputIDs = [3, 5, 11]

    /// A workspace whose store holds a trained and evaluated run, and `inputs/` with 3 phantoms.
    private func workspace() throws -> Workspace {
        if let ws = Self.trained { return ws }
        let ws = try Workspace("predict")
        // Trained on standardised targets, so predict, export and the PyTorch check all have to apply
        // the statistics stored in the checkpoint.
        let experiment = Workspace.dataExperiment(count: 24)
            .replacingOccurrences(of: "training: {epochs: 1, batch_size: 4}", with: "training: {epochs: 1, batch_size: 4, standardize_targets: true}")
        XCTAssertTrue(experiment.contains("standardize_targets: true"))
        try ws.write("exp.yaml", experiment)
        let applied = try ws.run(["apply", "exp.yaml", "--cores", "2"])
        XCTAssertEqual(applied.status, 0, applied.stdout + applied.stderr)
        let made = try Python.python3(Python.writePhantoms, ["inputs", Self.inputIDs.map(String.init).joined(separator: ","), "32"], in: ws.dir)
        XCTAssertEqual(made.status, 0, made.stderr)
        Self.trained = ws
        return ws
    }

    override class func tearDown() {
        trained?.remove()
        trained = nil
        super.tearDown()
    }

    private func json(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testPredictWritesReconstructionsThatH5pyReadsWithMatchingMetrics() throws {
        let ws = try workspace()
        let trainKey = try XCTUnwrap(ws.stepKey(kind: "train"))
        let r = try ws.run(["predict", "--checkpoint", String(trainKey.prefix(10)), "inputs", "-o", "out", "--json", "--threads", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let doc = try json(r.stdout)
        XCTAssertEqual(doc["standardized_targets"] as? Bool, true)
        let phantoms = try XCTUnwrap(doc["phantoms"] as? [[String: Any]])
        XCTAssertEqual(phantoms.compactMap { $0["id"] as? Int }, Self.inputIDs)
        let checkpoint = try XCTUnwrap(doc["checkpoint"] as? [String: Any])
        XCTAssertEqual(checkpoint["sha256"] as? String, try ws.outputFiles(trainKey)["best.safetensors"])
        XCTAssertEqual(ws.files(under: "out"), Self.inputIDs.map { "phantom_\($0)/phantom_\($0)_scan.h5" }.sorted(), "only the reconstructions, no staging left")

        let read = try Python.python3(Python.readReconstructions, ["inputs", "out", Self.inputIDs.map(String.init).joined(separator: ",")], in: ws.dir)
        XCTAssertEqual(read.status, 0, read.stderr)
        let h5 = try json(read.stdout)
        var squares = 0.0
        for p in phantoms {
            let id = try XCTUnwrap(p["id"] as? Int)
            let metrics = try XCTUnwrap(p["metrics"] as? [String: Any])
            let back = try XCTUnwrap(h5[String(id)] as? [String: Any])
            XCTAssertEqual(back["shape"] as? [Int], [2, 32, 32, 32])
            XCTAssertEqual(back["dtype"] as? String, "float32")
            XCTAssertEqual(back["labels_equal"] as? Bool, true)
            XCTAssertEqual(back["measurements_equal"] as? Bool, true)
            let rmse = try XCTUnwrap(metrics["rmse"] as? Double)
            XCTAssertEqual(try XCTUnwrap(back["rmse"] as? Double), rmse, accuracy: 1e-6 * max(1, rmse), "phantom \(id): h5py's RMSE of the file = the printed one")
            XCTAssertEqual(try XCTUnwrap(back["rmse_mua"] as? Double), try XCTUnwrap(metrics["rmse.mua"] as? Double), accuracy: 1e-6)
            XCTAssertEqual(try XCTUnwrap(back["rmse_musp"] as? Double), try XCTUnwrap(metrics["rmse.musp"] as? Double), accuracy: 1e-6)
            XCTAssertEqual(try XCTUnwrap(metrics["psnr"] as? Double), 20 * log10(1 / rmse), accuracy: 1e-9)
            let ssim = try XCTUnwrap(metrics["ssim"] as? Double)
            XCTAssertTrue(ssim > -1 && ssim <= 1, "\(ssim)")
            squares += rmse * rmse
        }
        let total = try XCTUnwrap(doc["total"] as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(total["rmse"] as? Double), (squares / 3).squareRoot(), accuracy: 1e-9, "total RMSE is over every voxel")

        // The human view: a row per phantom and the total.
        let human = try ws.run(["predict", "--checkpoint", String(trainKey.prefix(10)), "inputs/phantom_5", "-o", "out2"])
        XCTAssertEqual(human.status, 0, human.stderr)
        XCTAssertTrue(human.stdout.contains("RMSE μa") && human.stdout.contains("total") && human.stdout.contains("1 reconstruction(s) of 32³"), human.stdout)
        XCTAssertEqual(ws.files(under: "out2"), ["phantom_5/phantom_5_scan.h5"])
    }

    func testEveryWayOfNamingTheCheckpointGivesTheSameReconstruction() throws {
        let ws = try workspace()
        let trainKey = try XCTUnwrap(ws.stepKey(kind: "train"))
        let evaluateKey = try XCTUnwrap(ws.stepKey(kind: "evaluate"))
        let run = try XCTUnwrap(ws.runIDs.first, "apply copies the run manifest to runs/")
        let exported = try ws.run(["export", "runs/\(run)", "-o", "model.safetensors"])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertTrue(exported.stdout.contains("model.safetensors"), exported.stdout)
        XCTAssertEqual(try Data(contentsOf: ws.dir.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: ws.object(try XCTUnwrap(try ws.outputFiles(trainKey)["best.safetensors"]))),
                       "the run's checkpoint is the train step's best.safetensors, copied byte for byte")

        var rmses: [Double] = []
        for name in [trainKey, evaluateKey, "runs/\(run)", ".runner/runs/\(run)", ".runner/runs/\(run)/manifest.json", "model.safetensors"] {
            let r = try ws.run(["predict", "--checkpoint", name, "inputs/phantom_3/phantom_3_scan.h5", "-o", "o-\(rmses.count)", "--json"])
            XCTAssertEqual(r.status, 0, "\(name): \(r.stderr)")
            let total = try XCTUnwrap(try json(r.stdout)["total"] as? [String: Any])
            rmses.append(try XCTUnwrap(total["rmse"] as? Double))
        }
        XCTAssertEqual(Set(rmses).count, 1, "\(rmses)")

        let last = try ws.run(["predict", "--checkpoint", trainKey, "--which", "last", "inputs/phantom_3", "-o", "o-last", "--json"])
        XCTAssertEqual(last.status, 0, last.stderr)
        let lastCheckpoint = try XCTUnwrap(try json(last.stdout)["checkpoint"] as? [String: Any])
        XCTAssertEqual(lastCheckpoint["sha256"] as? String, try ws.outputFiles(trainKey)["last.safetensors"])
    }

    func testBadInputIsExit1NamingTheFileAndWritesNothing() throws {
        let ws = try workspace()
        let trainKey = try XCTUnwrap(ws.stepKey(kind: "train"))
        func expectFailure(_ args: [String], mentions: [String], output: String, line: UInt = #line) throws {
            let r = try ws.run(["predict"] + args + ["-o", output])
            XCTAssertEqual(r.status, 1, r.stdout + r.stderr, line: line)
            for m in mentions { XCTAssertTrue(r.stderr.contains(m), "expected '\(m)' in: \(r.stderr)", line: line) }
            XCTAssertEqual(ws.files(under: output), [], "nothing written to \(output)", line: line)
            XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, line: line)
        }
        // a missing checkpoint, a checkpoint that is not one
        try expectFailure(["--checkpoint", "nope.safetensors", "inputs"], mentions: ["nope.safetensors", "no such file"], output: "bad1")
        XCTAssertFalse(FileManager.default.fileExists(atPath: ws.dir.appendingPathComponent("bad1").path))
        try ws.write("garbage.safetensors", "not a safetensors file at all")
        try expectFailure(["--checkpoint", "garbage.safetensors", "inputs"], mentions: ["garbage.safetensors"], output: "bad2")

        // wrong size: a 48³ phantom beside good ones — the good ones are not written either
        let small = try Python.python3(Python.writePhantoms, ["small", "7", "48"], in: ws.dir)
        XCTAssertEqual(small.status, 0, small.stderr)
        try expectFailure(["--checkpoint", trainKey, "inputs", "small"], mentions: ["small/phantom_7/phantom_7_scan.h5", "48×48×48", "32³"], output: "bad3")

        // a corrupt phantom (not HDF5) named like one
        try FileManager.default.createDirectory(at: ws.dir.appendingPathComponent("corrupt/phantom_9"), withIntermediateDirectories: true)
        try ws.write("corrupt/phantom_9/phantom_9_scan.h5", String(repeating: "x", count: 4096))
        try expectFailure(["--checkpoint", trainKey, "inputs", "corrupt"], mentions: ["corrupt/phantom_9/phantom_9_scan.h5", "not a readable phantom"], output: "bad4")

        // a directory without phantoms, a missing input, a file with the wrong name
        try FileManager.default.createDirectory(at: ws.dir.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try expectFailure(["--checkpoint", trainKey, "empty"], mentions: ["empty", "holds no phantom files"], output: "bad5")
        try expectFailure(["--checkpoint", trainKey, "missing-dir"], mentions: ["missing-dir", "no such file"], output: "bad6")
        try expectFailure(["--checkpoint", trainKey, "exp.yaml"], mentions: ["exp.yaml", "not a phantom file name"], output: "bad7")

        // an unwritable output: below a regular file
        let r = try ws.run(["predict", "--checkpoint", trainKey, "inputs", "-o", "exp.yaml/out"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("exp.yaml/out"), r.stderr)

        // the output may not overwrite an input
        let same = try ws.run(["predict", "--checkpoint", trainKey, "inputs", "-o", "inputs"])
        XCTAssertEqual(same.status, 1, same.stderr)
        XCTAssertTrue(same.stderr.contains("would overwrite this input"), same.stderr)

        // an unknown step key prefix, a step that is not a train/evaluate step
        try expectFailure(["--checkpoint", "abcdef012345", "inputs"], mentions: ["abcdef012345", "no such file, run or step key"], output: "bad8")
        let splitKey = try XCTUnwrap(ws.stepKey(kind: "split"))
        try expectFailure(["--checkpoint", splitKey, "inputs"], mentions: ["split step"], output: "bad9")

        // usage errors exit 2
        XCTAssertEqual(try ws.run(["predict", "--checkpoint", trainKey, "-o", "x"]).status, 2)
    }

    func testACorruptedCheckpointObjectIsRefusedByItsHash() throws {
        let ws = try Workspace("predict-corrupt")
        defer { ws.remove() }
        try ws.write("exp.yaml", Workspace.dataExperiment(count: 24))
        XCTAssertEqual(try ws.run(["apply", "exp.yaml"]).status, 0)
        XCTAssertEqual(try Python.python3(Python.writePhantoms, ["inputs", "1", "32"], in: ws.dir).status, 0)
        let trainKey = try XCTUnwrap(ws.stepKey(kind: "train"))
        let url = ws.object(try XCTUnwrap(try ws.outputFiles(trainKey)["best.safetensors"]))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
        let handle = try FileHandle(forWritingTo: url)
        handle.seek(toFileOffset: 200)
        handle.write(Data(repeating: 0x55, count: 8))
        try handle.close()
        let r = try ws.run(["predict", "--checkpoint", trainKey, "inputs", "-o", "out"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("corrupt") || r.stderr.contains("digest"), r.stderr)
        XCTAssertEqual(ws.files(under: "out"), [])
        XCTAssertEqual(try ws.run(["export", trainKey, "-o", "m.safetensors"]).status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: ws.dir.appendingPathComponent("m.safetensors").path))
    }

    /// The exported checkpoint loads into tools/reference_model.py with load_state_dict(strict=True)
    /// and PyTorch reproduces runner's reconstructions (as read back by h5py).
    func testExportLoadsIntoPyTorchStrictAndReproducesPredictions() throws {
        guard let torch = Python.torch else {
            throw XCTSkip("SKIPPED: no python with torch (set RUNNER_TORCH_PYTHON or create /work/venv-torch) — the PyTorch export check did not run")
        }
        let ws = try workspace()
        let run = try XCTUnwrap(ws.runIDs.first)
        XCTAssertEqual(try ws.run(["export", run, "-o", "export.safetensors"]).status, 0)
        let ids = Self.inputIDs.map(String.init).joined(separator: ",")
        let predicted = try ws.run(["predict", "--checkpoint", "export.safetensors", "inputs", "-o", "torch-out"])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        let packed = try Python.python3(Python.packComparison, ["inputs", "torch-out", ids, "io.safetensors"], in: ws.dir)
        XCTAssertEqual(packed.status, 0, packed.stderr)

        let tool = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/check_export.py")
        let check = try Python.run(torch, "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                                   [tool.path, "export.safetensors", "--compare", "io.safetensors"], in: ws.dir)
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let summary = try json(check.stdout)
        XCTAssertEqual(summary["strict_load"] as? Bool, true)
        XCTAssertEqual(summary["standardized_targets"] as? Bool, true)
        XCTAssertEqual(summary["compared_samples"] as? Int, 3)
        XCTAssertLessThanOrEqual(try XCTUnwrap(summary["max_abs_difference"] as? Double), 1e-4)

        // A checkpoint with a tensor missing is refused by the strict load.
        let broken = try Python.python3("""
        import sys
        from safetensors import safe_open
        from safetensors.numpy import save_file
        with safe_open(sys.argv[1], framework="np") as f:
            t = {k: f.get_tensor(k) for k in f.keys() if not k.endswith("final_conv.bias")}
            m = f.metadata()
        save_file(t, sys.argv[2], metadata=m)
        """, ["export.safetensors", "broken.safetensors"], in: ws.dir)
        XCTAssertEqual(broken.status, 0, broken.stderr)
        let refused = try Python.run(torch, "import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                                     [tool.path, "broken.safetensors"], in: ws.dir)
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        XCTAssertTrue(refused.stderr.contains("final_conv.bias"), refused.stderr)
    }
}
