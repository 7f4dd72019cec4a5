import Foundation
import Phantoms
import XCTest

/// Interop with the reference stack, both ways. Fails (never skips) when python3/numpy/h5py are missing.
final class H5pyInteropTests: XCTestCase {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("tools")

    func testPhantomsWrittenHereReadBackInH5py() throws {
        let dir = try temporaryDirectory(self)
        var phantom = PhantomGenerator(size: 32, seed: 9).phantom(2)
        phantom.measurements["source_positions"] = RawArray(type: .float32, shape: [2, 3],
            bytes: [Float(1), 2, 3, 4, 5, 6].flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        let url = try PhantomIO.write(phantom, to: dir)
        let script = """
        import sys, json, h5py, numpy as np
        with h5py.File(sys.argv[1], "r") as f:
            gt, lab, sp = f["ground_truth"], f["tissue_labels"], f["source_positions"]
            out = {"gt_dtype": str(gt.dtype), "gt_shape": list(gt.shape), "gt_chunks": list(gt.chunks),
                   "compression": gt.compression, "level": gt.compression_opts,
                   "lab_dtype": str(lab.dtype), "lab_shape": list(lab.shape), "lab_compression": lab.compression,
                   "sp": sp[()].tolist(), "sp_dtype": str(sp.dtype),
                   "gt_sum": float(gt[()].astype(np.float64).sum()), "gt_max": float(gt[()].max()),
                   "lab_hist": np.bincount(lab[()].ravel()).tolist(),
                   "probe": float(gt[1, 16, 16, 16]), "probe_label": int(lab[16, 16, 16])}
        print(json.dumps(out))
        """
        let out = try JSONSerialization.jsonObject(with: Data(try runPython(script, [url.path]).utf8)) as! [String: Any]
        XCTAssertEqual(out["gt_dtype"] as? String, "float32")
        XCTAssertEqual(out["gt_shape"] as? [Int], [2, 32, 32, 32])
        XCTAssertEqual(out["gt_chunks"] as? [Int], [1, 32, 32, 32])
        XCTAssertEqual(out["compression"] as? String, "gzip")
        XCTAssertEqual(out["level"] as? Int, 4)
        XCTAssertEqual(out["lab_dtype"] as? String, "uint8")
        XCTAssertEqual(out["lab_shape"] as? [Int], [32, 32, 32])
        XCTAssertEqual(out["lab_compression"] as? String, "gzip")
        XCTAssertEqual(out["sp_dtype"] as? String, "float32")
        XCTAssertEqual(out["sp"] as? [[Double]], [[1, 2, 3], [4, 5, 6]])
        let sum = phantom.groundTruth.reduce(0.0) { $0 + Double($1) }
        XCTAssertEqual(out["gt_sum"] as! Double, sum, accuracy: 1e-9 * max(1, sum))
        XCTAssertEqual(Float(out["gt_max"] as! Double), phantom.groundTruth.max()!)
        var hist = [Int](repeating: 0, count: Int(phantom.tissueLabels.max()!) + 1)
        for l in phantom.tissueLabels { hist[Int(l)] += 1 }
        XCTAssertEqual(out["lab_hist"] as? [Int], hist)
        let centre = (16 * 32 + 16) * 32 + 16
        XCTAssertEqual(Float(out["probe"] as! Double), phantom.groundTruth[32 * 32 * 32 + centre])
        XCTAssertEqual(out["probe_label"] as? Int, Int(phantom.tissueLabels[centre]))
    }

    func testPhantomsWrittenByH5pyAreRead() throws {
        let dir = try temporaryDirectory(self)
        _ = try runPython("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')",
                          [Self.tools.appendingPathComponent("generate_numpy.py").path, "write", "--count", "3", "--size", "32",
                           "--seed", "4", "--out", dir.path, "--measurements"])
        // A checksum of every phantom computed by NumPy, to compare values exactly.
        let script = """
        import sys, json, h5py, numpy as np
        out = {}
        for k in range(3):
            with h5py.File(f"{sys.argv[1]}/phantom_{k}/phantom_{k}_scan.h5", "r") as f:
                gt = f["ground_truth"][()]; lab = f["tissue_labels"][()]
                out[k] = {"sum": float(gt.astype(np.float64).sum()), "labels": int(lab.astype(np.int64).sum()),
                          "first": [float(v) for v in gt.ravel()[np.flatnonzero(gt.ravel())[:3]]]}
        print(json.dumps(out))
        """
        let expected = try JSONSerialization.jsonObject(with: Data(try runPython(script, [dir.path]).utf8)) as! [String: [String: Any]]
        for k in 0..<3 {
            let p = try PhantomIO.read(PhantomIO.fileURL(directory: dir, id: k))
            XCTAssertEqual(p.id, k)
            XCTAssertEqual(p.size, [32, 32, 32])
            let e = expected["\(k)"]!
            XCTAssertEqual(p.groundTruth.reduce(0.0) { $0 + Double($1) }, e["sum"] as! Double, accuracy: 1e-9)
            XCTAssertEqual(p.tissueLabels.reduce(0) { $0 + Int($1) }, e["labels"] as? Int)
            XCTAssertEqual(Array(p.groundTruth.filter { $0 != 0 }.prefix(3)), (e["first"] as! [Double]).map { Float($0) })
            XCTAssertEqual(p.measurements["log_amplitude"]?.type, .float64)
            XCTAssertEqual(p.measurements["log_amplitude"]?.shape, [3, 4])
            XCTAssertEqual(p.measurements["measurement_links"]?.type, .int32)
            XCTAssertEqual(p.measurements["measurement_links"]?.bytes.count, 24)
            // And they pass the default cleaning rules, like the phantoms generated here.
            XCTAssertEqual(Cleaning.check(p, rules: CleaningRules()), [])
        }
        // Writing an h5py phantom back out and reading it again keeps it (measurements included).
        let again = try temporaryDirectory(self)
        let p = try PhantomIO.read(PhantomIO.fileURL(directory: dir, id: 1))
        XCTAssertEqual(try PhantomIO.read(PhantomIO.write(p, to: again)), p)
    }

    func testOtherLayoutsWrittenByH5pyAreReadToo() throws {
        // Auto chunking + shuffle + gzip, big-endian floats, contiguous labels, float64 extra dataset:
        // none of these is the fast path's layout; all must read to the same values.
        let dir = try temporaryDirectory(self)
        let script = """
        import sys, json, h5py, numpy as np
        rng = np.random.default_rng(3)
        lab = (rng.random((32, 32, 32)) < 0.3).astype(np.uint8)
        gt = np.stack([lab * 0.005, lab * 0.9]).astype(np.float32)
        with h5py.File(sys.argv[1] + "/a.h5", "w") as f:
            f.create_dataset("ground_truth", data=gt, chunks=True, shuffle=True, compression="gzip")
            f.create_dataset("tissue_labels", data=lab)
        with h5py.File(sys.argv[1] + "/b.h5", "w") as f:
            f.create_dataset("ground_truth", data=gt.astype(">f4"), chunks=(1, 32, 32, 32), compression="gzip")
            f.create_dataset("tissue_labels", data=lab, chunks=(32, 32, 32))
        print(json.dumps({"sum": float(gt.astype(np.float64).sum()), "labels": int(lab.sum())}))
        """
        let expected = try JSONSerialization.jsonObject(with: Data(try runPython(script, [dir.path]).utf8)) as! [String: Any]
        for name in ["a.h5", "b.h5"] {
            for threads in [1, 2] {
                let p = try PhantomIO.read(dir.appendingPathComponent(name), id: 1, threads: threads)
                XCTAssertEqual(p.groundTruth.reduce(0.0) { $0 + Double($1) }, expected["sum"] as! Double, accuracy: 1e-6, name)
                XCTAssertEqual(p.tissueLabels.reduce(0) { $0 + Int($1) }, expected["labels"] as? Int, name)
                XCTAssertEqual(Cleaning.check(p, rules: CleaningRules(tissueCoverage: 0.2...0.4)), [], name)
            }
        }
    }
}
