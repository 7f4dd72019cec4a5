import Foundation
import Phantoms
import XCTest

final class CleaningTests: XCTestCase {
    /// Writes a file with arbitrary datasets (to make malformed phantoms).
    func writeRaw(_ dir: URL, id: Int, _ datasets: [(String, HDF5ElementType, [Int], [UInt8])]) throws {
        let url = PhantomIO.fileURL(directory: dir, id: id)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let file = try HDF5File.create(at: url)
        for (name, type, shape, bytes) in datasets {
            let ds = try file.createDataset(name, type: type, shape: shape, chunk: shape, gzipLevel: 4)
            try bytes.withUnsafeBytes { try ds.write(as: type, from: $0) }
        }
        try file.flush()
    }

    func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes(Array.init) }

    func testEveryDefectIsRejectedWithItsReason() throws {
        let dir = try temporaryDirectory(self)
        let generator = PhantomGenerator(size: 32, seed: 21)
        let good = (0..<3).map { generator.phantom($0) }
        for p in good { try PhantomIO.write(p, to: dir) }
        let base = good[0]
        let n = base.voxelCount
        func tissueIndex(_ p: Phantom) -> Int { p.tissueLabels.firstIndex(of: 1)! }
        func airIndex(_ p: Phantom) -> Int { p.tissueLabels.firstIndex(of: 0)! }

        // 10: truncated file; 11: garbage bytes.
        let sample = try Data(contentsOf: PhantomIO.fileURL(directory: dir, id: 0))
        for (id, data) in [(10, sample.prefix(sample.count / 3)), (11, Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))] {
            let url = PhantomIO.fileURL(directory: dir, id: id)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
        }
        // 12: missing tissue_labels; 13: ground truth as float64; 14: labels of the wrong shape.
        try writeRaw(dir, id: 12, [("ground_truth", .float32, [2, 32, 32, 32], bytes(base.groundTruth))])
        try writeRaw(dir, id: 13, [("ground_truth", .float64, [2, 32, 32, 32], bytes(base.groundTruth.map(Double.init))),
                                   ("tissue_labels", .uint8, [32, 32, 32], base.tissueLabels)])
        try writeRaw(dir, id: 14, [("ground_truth", .float32, [2, 32, 32, 32], bytes(base.groundTruth)),
                                   ("tissue_labels", .uint8, [32, 32, 16], Array(base.tissueLabels.prefix(n / 2)))])
        // 15: a NaN; 16: μs′ out of range; 17: coverage too low; 18: air with values and tissue with zeros.
        var nan = generator.phantom(15); nan.groundTruth[tissueIndex(nan)] = .nan
        var hot = generator.phantom(16); hot.groundTruth[n + tissueIndex(hot)] = 9.5
        var sparse = generator.phantom(17)
        for i in 0..<n where sparse.tissueLabels[i] != 0 && i % 8 != 0 { sparse.tissueLabels[i] = 0; sparse.groundTruth[i] = 0; sparse.groundTruth[n + i] = 0 }
        var mislabelled = generator.phantom(18)
        mislabelled.groundTruth[airIndex(mislabelled)] = 0.01
        mislabelled.groundTruth[n + tissueIndex(mislabelled)] = 0
        // 19: a copy of phantom 1 under another id; 20: a valid phantom of another size than the rest.
        var copy = good[1]; copy.id = 19
        var other = PhantomGenerator(size: 64, seed: 21).phantom(20)
        other.id = 20
        for p in [nan, hot, sparse, mislabelled, copy, other] { try PhantomIO.write(p, to: dir) }

        let sources = (Array(0..<3) + Array(10...20)).map { PhantomSource(id: $0, url: PhantomIO.fileURL(directory: dir, id: $0)) }
        for threads in [1, 2] {
            let result = try Cleaning.clean(sources, rules: CleaningRules(), threads: threads)
            XCTAssertEqual(result.accepted, [0, 1, 2])
            let reasons = Dictionary(uniqueKeysWithValues: result.rejected.map { ($0.id, $0.reasons) })
            XCTAssertEqual(reasons.keys.sorted(), Array(10...20))
            XCTAssertEqual(reasons[10]?.map(\.code), ["unreadable"])
            XCTAssertEqual(reasons[11]?.map(\.code), ["unreadable"])
            XCTAssertEqual(reasons[12], [.missingDataset("tissue_labels")])
            XCTAssertEqual(reasons[13], [.wrongType(dataset: "ground_truth", found: "float64")])
            XCTAssertEqual(reasons[14], [.wrongShape(dataset: "tissue_labels", found: [32, 32, 16])])
            XCTAssertEqual(reasons[15], [.nonFinite(channel: "mua", count: 1)])
            XCTAssertEqual(reasons[16]?.map(\.code), ["out_of_range"])
            if case .outOfRange(let channel, _, let max, _)? = reasons[16]?.first { XCTAssertEqual(channel, "musp"); XCTAssertEqual(max, 9.5) }
            XCTAssertEqual(reasons[17]?.map(\.code), ["tissue_coverage"])
            XCTAssertEqual(reasons[18], [.inconsistentLabels(airWithValues: 1, tissueWithZero: 1)])
            XCTAssertEqual(reasons[19], [.duplicate(of: 1)])
            XCTAssertEqual(reasons[20], [.wrongShape(dataset: "tissue_labels", found: [64, 64, 64])])
            XCTAssertEqual(result.reasonCounts["unreadable"], 2)
            XCTAssertEqual(result.stats.keys.sorted(), [0, 1, 2, 15, 16, 17, 18, 19, 20])
            XCTAssertEqual(result.hashes[19], result.hashes[1])
            XCTAssertNotEqual(result.hashes[0], result.hashes[1])
        }
    }

    func testRulesAreConfigurable() throws {
        let p = PhantomGenerator(size: 32, seed: 3).phantom(0)
        let coverage = PhantomStats(p).tissueCoverage
        XCTAssertEqual(Cleaning.check(p, rules: CleaningRules()), [])
        XCTAssertEqual(Cleaning.check(p, rules: CleaningRules(tissueCoverage: (coverage + 0.01)...0.9)).map(\.code), ["tissue_coverage"])
        XCTAssertEqual(Cleaning.check(p, rules: CleaningRules(muaRange: 0...0.001)).map(\.code), ["out_of_range"])
        XCTAssertEqual(Cleaning.check(p, rules: CleaningRules(expectedSize: [64, 64, 64])).map(\.code), ["wrong_shape"])
        XCTAssertEqual(Cleaning.check(p, rules: CleaningRules(expectedSize: [32, 32, 32])), [])
    }

    func testReasonsDescribeTheDefect() {
        XCTAssertEqual(RejectionReason.duplicate(of: 4).description, "duplicate of phantom 4")
        XCTAssertTrue(RejectionReason.tissueCoverage(0.1, allowed: 0.15...0.6).description.contains("0.100"))
    }
}
