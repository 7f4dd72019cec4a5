import Foundation
import Phantoms
import XCTest

final class PhantomIOTests: XCTestCase {
    func testWriteReadRoundTripKeepsEverything() throws {
        let dir = try temporaryDirectory(self)
        var phantom = PhantomGenerator(size: 32, seed: 3).phantom(7)
        phantom.measurements["phase"] = RawArray(type: .float64, shape: [2, 3], bytes: [1.5, -2, 3, 4, 5, 6.25].flatMap { withUnsafeBytes(of: Double($0).bitPattern.littleEndian, Array.init) })
        phantom.measurements["measurement_links"] = RawArray(type: .int32, shape: [4], bytes: [Int32(1), 2, 3, -4].flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) })
        let url = try PhantomIO.write(phantom, to: dir)
        XCTAssertEqual(url.path, dir.appendingPathComponent("phantom_7/phantom_7_scan.h5").path)
        XCTAssertEqual(try PhantomIO.read(url), phantom)
        XCTAssertEqual(try PhantomIO.read(url, threads: 3), phantom)
        // Nothing but the file itself is left in the phantom's folder (the temporary name was renamed).
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: url.deletingLastPathComponent().path), ["phantom_7_scan.h5"])
    }

    func testLayoutIsChunkedGzip4() throws {
        let dir = try temporaryDirectory(self)
        let url = try PhantomIO.write(PhantomGenerator(size: 32, seed: 1).phantom(0), to: dir)
        let file = try HDF5File.open(at: url)
        XCTAssertEqual(try file.rootNames(), ["ground_truth", "tissue_labels"])
        let gt = try file.openDataset("ground_truth")
        XCTAssertEqual(try gt.elementType(), .float32)
        XCTAssertEqual(try gt.shape(), [2, 32, 32, 32])
        XCTAssertEqual(try gt.chunkShape(), [1, 32, 32, 32])
        XCTAssertEqual(try gt.filters().map(\.id), [1])
        XCTAssertEqual(try gt.filters().first?.values, [4])
        let labels = try file.openDataset("tissue_labels")
        XCTAssertEqual(try labels.elementType(), .uint8)
        XCTAssertEqual(try labels.chunkShape(), [32, 32, 32])
        XCTAssertEqual(try labels.filters().first?.values, [4])
        // Compressed well below raw size (2·32³·4 + 32³ bytes).
        let bytes = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
        XCTAssertLessThan(bytes, 2 * 32 * 32 * 32 * 4 / 5)
    }

    func testMissingTruncatedAndGarbageFilesAreErrorsNotCrashes() throws {
        let dir = try temporaryDirectory(self)
        let url = try PhantomIO.write(PhantomGenerator(size: 32, seed: 1).phantom(0), to: dir)
        let data = try Data(contentsOf: url)

        XCTAssertThrowsError(try PhantomIO.read(dir.appendingPathComponent("nope.h5"))) { error in
            guard case PhantomFileError.unreadable(let e) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(e.call, "H5Fopen")
        }
        let truncated = dir.appendingPathComponent("truncated.h5")
        try data.prefix(data.count / 2).write(to: truncated)
        XCTAssertThrowsError(try PhantomIO.read(truncated)) { error in
            guard case PhantomFileError.unreadable(let e) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(e.path.hasSuffix("truncated.h5"))
        }
        let garbage = dir.appendingPathComponent("garbage.h5")
        var rng = SplitMix64(state: 9)
        try Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(to: garbage)
        XCTAssertThrowsError(try PhantomIO.read(garbage)) { error in
            guard case PhantomFileError.unreadable = error else { return XCTFail("\(error)") }
        }
        // A corrupted compressed chunk: keep the header, overwrite the tail.
        var corrupt = data
        for i in (data.count - 2000)..<(data.count - 10) { corrupt[i] = 0xA5 }
        let corruptURL = dir.appendingPathComponent("corrupt.h5")
        try corrupt.write(to: corruptURL)
        XCTAssertThrowsError(try PhantomIO.read(corruptURL)) { error in
            guard case PhantomFileError.unreadable(let e) = error else { return XCTFail("\(error)") }
            XCTAssertFalse(e.call.isEmpty)
        }
    }

    func testPhantomIDFromPath() {
        XCTAssertEqual(PhantomIO.phantomID(fromPath: "a/phantom_12/phantom_12_scan.h5"), 12)
        XCTAssertNil(PhantomIO.phantomID(fromPath: "a/phantom_x_scan.h5"))
        XCTAssertNil(PhantomIO.phantomID(fromPath: "a/other.h5"))
    }
}
