import Foundation
import NN
import Tensor
import XCTest

/// The safetensors reader/writer: round trips, interop with python's `safetensors` (a subprocess;
/// the test fails when python3 or the package is missing), and bad files.
final class SafetensorsTests: XCTestCase {
    func tmp(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("nn-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
    }

    func python(_ script: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(p.terminationStatus, 0, "python3 failed: \(errText)")
        return text
    }

    func testRoundTripAllDTypes() throws {
        var f = SafetensorsFile(metadata: ["k": "v \"quoted\""])
        f["a.weight"] = SafetensorsTensor(floats: [1, -2.5, 3e-8, .infinity], shape: [2, 2])
        f["b"] = SafetensorsTensor(floats: [1, 0.1, -65504, 1e-7], shape: [4], as: .f16)
        f["c"] = SafetensorsTensor(floats: [1, 0.1, -3e38, 1e-30], shape: [4], as: .bf16)
        f["d.num_batches_tracked"] = SafetensorsTensor(int64s: [1 << 40], shape: [])
        f["e"] = SafetensorsTensor(floats: [], shape: [0, 3])
        let back = try SafetensorsFile(bytes: f.serialized())
        XCTAssertEqual(back, f)
        XCTAssertEqual(back["b"]!.floats()[1], 0.0999755859375)   // nearest half to 0.1
        XCTAssertEqual(back["c"]!.floats()[1], 0.10009765625)     // nearest bfloat16 to 0.1
        XCTAssertEqual(back["d.num_batches_tracked"]!.int64s(), [1 << 40])
        XCTAssertEqual(f.serialized().count % 8, 0)
    }

    func testPythonReadsOurFileAndWeReadPythons() throws {
        let ours = tmp("ours.safetensors"), theirs = tmp("theirs.safetensors")
        defer { try? FileManager.default.removeItem(at: ours); try? FileManager.default.removeItem(at: theirs) }
        var f = SafetensorsFile(metadata: ["format": "pt"])
        f["encoder.w"] = SafetensorsTensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
        f["h"] = SafetensorsTensor(floats: [0.5, -1.5], shape: [2], as: .f16)
        f["bn.num_batches_tracked"] = SafetensorsTensor(int64s: [7], shape: [])
        try f.write(to: ours)
        let out = try python("""
        from safetensors.numpy import load_file, save_file
        from safetensors import safe_open
        import numpy as np
        d = load_file('\(ours.path)')
        assert d['encoder.w'].dtype == np.float32 and d['encoder.w'].shape == (2, 3), d['encoder.w']
        assert d['encoder.w'][1, 2] == 6.0
        assert d['h'].dtype == np.float16 and list(d['h']) == [0.5, -1.5]
        assert d['bn.num_batches_tracked'].dtype == np.int64 and d['bn.num_batches_tracked'].shape == ()
        with safe_open('\(ours.path)', 'np') as fh:
            assert fh.metadata() == {'format': 'pt'}
        save_file({'z': np.arange(6, dtype=np.float32).reshape(3, 2), 'i': np.array([3, -4], dtype=np.int64),
                   'x': np.array([1.25], dtype=np.float64)}, '\(theirs.path)', metadata={'m': 'yes'})
        print('ok')
        """)
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
        let t = try SafetensorsFile(contentsOf: theirs)
        XCTAssertEqual(t["z"]!.shape, [3, 2])
        XCTAssertEqual(t["z"]!.floats(), [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(t["i"]!.int64s(), [3, -4])
        XCTAssertEqual(t["x"]!.floats(), [1.25])
        XCTAssertEqual(t.metadata, ["m": "yes"])
    }

    func testBadFilesGiveTypedErrors() throws {
        XCTAssertThrowsError(try SafetensorsFile(bytes: [1, 2, 3])) { XCTAssertTrue("\($0)".contains("truncated")) }
        var huge = [UInt8](repeating: 0, count: 8); huge[0] = 200
        XCTAssertThrowsError(try SafetensorsFile(bytes: huge + [UInt8]("{}".utf8))) { XCTAssertTrue("\($0)".contains("header length")) }
        func file(_ header: String, data: Int = 0) -> [UInt8] {
            let h = [UInt8](header.utf8)
            var out = [UInt8](repeating: 0, count: 8)
            out[0] = UInt8(h.count)
            return out + h + [UInt8](repeating: 0, count: data)
        }
        XCTAssertThrowsError(try SafetensorsFile(bytes: file("not json"))) { XCTAssertTrue("\($0)".contains("not JSON")) }
        XCTAssertThrowsError(try SafetensorsFile(bytes: file(#"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}"#, data: 4))) {
            XCTAssertTrue("\($0)".contains("unsupported dtype Q9"))
        }
        XCTAssertThrowsError(try SafetensorsFile(bytes: file(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: 4))) {
            XCTAssertTrue("\($0)".contains("'a'") && "\($0)".contains("expected 8"), "\($0)")
        }
        XCTAssertThrowsError(try SafetensorsFile(bytes: file(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, data: 4))) {
            XCTAssertTrue("\($0)".contains("outside"), "\($0)")
        }
        XCTAssertThrowsError(try SafetensorsFile(contentsOf: tmp("does-not-exist")))
    }
}
