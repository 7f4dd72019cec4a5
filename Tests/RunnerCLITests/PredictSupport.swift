import Foundation
import XCTest

/// Python helpers for the predict/export tests: h5py writes the input phantoms and reads the
/// reconstructions back (the interop the phantom format promises), torch checks exports.
enum Python {
    struct Output { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ executable: String, _ script: String, _ args: [String], in directory: URL) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable, "-c", script] + args
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func python3(_ script: String, _ args: [String], in directory: URL) throws -> Output {
        try run("python3", script, args, in: directory)
    }

    /// A python with torch: RUNNER_TORCH_PYTHON, else /work/venv-torch/bin/python; nil when neither works.
    static var torch: String? {
        let candidates = [ProcessInfo.processInfo.environment["RUNNER_TORCH_PYTHON"], "/work/venv-torch/bin/python"].compactMap { $0 }
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) {
            if let r = try? run(c, "import torch, safetensors", [], in: URL(fileURLWithPath: "/")), r.status == 0 { return c }
        }
        return nil
    }

    /// Writes phantoms `ids` (edge `size`) with h5py in the phantom layout under `directory`:
    /// a tissue ellipsoid with one tumour, values in DESIGN.md's ranges, and a measurement dataset.
    static let writePhantoms = """
    import os, sys, h5py, numpy as np
    out, ids, size = sys.argv[1], [int(v) for v in sys.argv[2].split(",")], int(sys.argv[3])
    for k in ids:
        rng = np.random.default_rng(k)
        z, y, x = np.mgrid[:size, :size, :size] - (size - 1) / 2
        r = size * 0.4
        tissue = x * x / (r * r) + y * y / (0.8 * r * r) + z * z / (0.9 * r * r) <= 1
        labels = tissue.astype(np.uint8)
        mua = np.where(tissue, rng.uniform(0.003, 0.007), 0).astype(np.float32)
        musp = np.where(tissue, rng.uniform(0.78, 1.18), 0).astype(np.float32)
        c = rng.integers(-size // 6, size // 6, 3)
        tumour = ((x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= (0.12 * size) ** 2) & tissue
        labels[tumour] = 2; mua[tumour] *= 2.5; musp[tumour] *= 2.0
        d = os.path.join(out, f"phantom_{k}"); os.makedirs(d, exist_ok=True)
        with h5py.File(os.path.join(d, f"phantom_{k}_scan.h5"), "w") as f:
            f.create_dataset("ground_truth", data=np.stack([mua, musp]), chunks=(1, size, size, size), compression="gzip", compression_opts=4)
            f.create_dataset("tissue_labels", data=labels, compression="gzip", compression_opts=4)
            f.create_dataset("source_positions", data=np.arange(6, dtype=np.float32).reshape(2, 3))
    """

    /// Reads reconstructions and their inputs with h5py; prints per id: shape, dtype, RMSE over both
    /// channels, per-channel RMSE, whether labels and measurements were carried over unchanged.
    static let readReconstructions = """
    import json, sys, h5py, numpy as np
    inputs, outputs, ids = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split(",")]
    result = {}
    for k in ids:
        with h5py.File(f"{inputs}/phantom_{k}/phantom_{k}_scan.h5", "r") as a, h5py.File(f"{outputs}/phantom_{k}/phantom_{k}_scan.h5", "r") as b:
            truth, rec = a["ground_truth"][()].astype(np.float64), b["ground_truth"][()]
            err = rec.astype(np.float64) - truth
            result[str(k)] = {
                "shape": list(rec.shape), "dtype": str(rec.dtype),
                "rmse": float(np.sqrt(np.mean(err ** 2))),
                "rmse_mua": float(np.sqrt(np.mean(err[0] ** 2))), "rmse_musp": float(np.sqrt(np.mean(err[1] ** 2))),
                "labels_equal": bool(np.array_equal(a["tissue_labels"][()], b["tissue_labels"][()])),
                "measurements_equal": bool(np.array_equal(a["source_positions"][()], b["source_positions"][()])),
                "musp_mean_in_tissue": float(rec[1][a["tissue_labels"][()] > 0].mean()),
            }
    print(json.dumps(result))
    """

    /// Packs inputs and reconstructions into one safetensors file (`input`, `output`) for check_export.py.
    static let packComparison = """
    import sys, h5py, numpy as np
    from safetensors.numpy import save_file
    inputs, outputs, ids, dest = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3].split(",")], sys.argv[4]
    read = lambda d, k: h5py.File(f"{d}/phantom_{k}/phantom_{k}_scan.h5", "r")["ground_truth"][()]
    save_file({"input": np.stack([read(inputs, k) for k in ids]).astype(np.float32),
               "output": np.stack([read(outputs, k) for k in ids]).astype(np.float32)}, dest)
    """
}

extension Workspace {
    /// Key of the first step whose request has `kind`.
    func stepKey(kind: String) -> String? {
        let steps = store.appendingPathComponent("steps")
        for key in ((try? FileManager.default.contentsOfDirectory(atPath: steps.path)) ?? []).sorted() {
            guard let data = try? Data(contentsOf: steps.appendingPathComponent(key).appendingPathComponent("request.json")),
                  let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else { continue }
            if json["kind"] as? String == kind { return key }
        }
        return nil
    }

    /// The output files (name → digest) of a recorded step.
    func outputFiles(_ key: String) throws -> [String: String] {
        let data = try Data(contentsOf: store.appendingPathComponent("steps/\(key)/record.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let output = try XCTUnwrap(json["output"] as? [String: Any])
        return try XCTUnwrap(output["files"] as? [String: String])
    }

    func object(_ digest: String) -> URL {
        store.appendingPathComponent("objects/\(digest.prefix(2))/\(digest.dropFirst(2))")
    }

    var runIDs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.appendingPathComponent("runs").path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Every file under `relative` (relative paths, hidden ones included).
    func files(under relative: String) -> [String] {
        let root = dir.appendingPathComponent(relative)
        guard let e = FileManager.default.enumerator(atPath: root.path) else { return [] }
        return e.compactMap { $0 as? String }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }
}
