import Foundation
import Phantoms
import XCTest

final class GeneratorTests: XCTestCase {
    func testFilesAreByteIdenticalWhateverTheThreadCount() throws {
        let generator = PhantomGenerator(size: 32, seed: 42)
        var trees: [[String: Data]] = []
        for threads in [1, 2, 4] {
            let dir = try temporaryDirectory(self)
            let written = try PhantomBatch.generate(generator, ids: 0..<8, to: dir, threads: threads)
            XCTAssertEqual(written.count, 8)
            var tree: [String: Data] = [:]
            for (_, rel) in written { tree[rel] = try Data(contentsOf: dir.appendingPathComponent(rel)) }
            trees.append(tree)
        }
        XCTAssertEqual(trees[0], trees[1])
        XCTAssertEqual(trees[0], trees[2])
    }

    func testSeedAndIndexDecideThePhantom() {
        let a = PhantomGenerator(size: 32, seed: 1)
        XCTAssertEqual(a.phantom(3), a.phantom(3))
        XCTAssertNotEqual(a.phantom(3).groundTruth, a.phantom(4).groundTruth)
        XCTAssertNotEqual(a.phantom(3).groundTruth, PhantomGenerator(size: 32, seed: 2).phantom(3).groundTruth)
    }

    func testDistributionsMatchTheDesign() {
        for size in [32, 64] {
            let generator = PhantomGenerator(size: size, seed: 11)
            var tumourCounts = Set<Int>()
            for k in 0..<(size == 32 ? 60 : 12) {
                let (p, d) = generator.generate(k)
                let n = p.voxelCount
                XCTAssertEqual(p.size, [size, size, size])
                XCTAssertEqual(p.groundTruth.count, 2 * n)
                XCTAssert((0.003..<0.007).contains(d.healthyMua))
                XCTAssert((0.78..<1.18).contains(d.healthyMusp))
                XCTAssert((0...5).contains(d.tumourCount))
                tumourCounts.insert(d.tumourCount)
                for f in d.tumourFactors {
                    XCTAssert((1.5..<3.5).contains(f[0])); XCTAssert((1.5..<2.5).contains(f[1]))
                }
                // Labels: 0 air with zero values; 1 healthy with the drawn values; 2+j tumour j with the drawn factors.
                var present = Set<UInt8>()
                for i in 0..<n {
                    let label = p.tissueLabels[i]
                    present.insert(label)
                    let (a, s) = (p.groundTruth[i], p.groundTruth[n + i])
                    switch label {
                    case 0: XCTAssertEqual(a, 0); XCTAssertEqual(s, 0)
                    case 1: XCTAssertEqual(a, Float(d.healthyMua)); XCTAssertEqual(s, Float(d.healthyMusp))
                    default:
                        let f = d.tumourFactors[Int(label) - 2]
                        XCTAssertEqual(a, Float(d.healthyMua * f[0])); XCTAssertEqual(s, Float(d.healthyMusp * f[1]))
                    }
                }
                XCTAssertTrue(present.contains(0) && present.contains(1))
                XCTAssertTrue(present.allSatisfy { $0 <= 1 + UInt8(d.tumourCount) })
                // The healthy ellipsoid (semi-axes 25–30 mm at 64³, scaled) covers 4/3·π·abc of the volume.
                let stats = PhantomStats(p)
                let s = Double(size) / 64
                let lo = 4.0 / 3 * Double.pi * pow(25 * s, 3) / Double(n), hi = 4.0 / 3 * Double.pi * pow(30 * s, 3) / Double(n)
                XCTAssert(stats.tissueCoverage > lo * 0.95 && stats.tissueCoverage < hi * 1.05, "coverage \(stats.tissueCoverage)")
                XCTAssertLessThanOrEqual(stats.tumourCount, d.tumourCount)
            }
            if size == 32 { XCTAssertEqual(tumourCounts, Set(0...5)) }
        }
    }

    func testTumoursLieAtLeast80PercentInTissue() {
        let generator = PhantomGenerator(size: 32, seed: 5)
        var fractions: [Double] = []
        for k in 0..<40 { fractions += generator.generate(k).description.tumourInsideFractions }
        XCTAssertGreaterThan(fractions.count, 40)
        XCTAssert(fractions.allSatisfy { $0 >= 0.8 && $0 <= 1 }, "\(fractions)")
        XCTAssert(fractions.contains { $0 < 1 }, "the threshold is never exercised")
        // One try with a demanding threshold rejects many tumours (rejection sampling is real).
        var strict = generator
        strict.tries = 1
        strict.minInsideFraction = 0.99
        let strictCount = (0..<40).map { strict.generate($0).description.tumourCount }.reduce(0, +)
        XCTAssertLessThan(strictCount, fractions.count)
    }

    func testRandomStreamsAreIndependentOfOrder() {
        var a = SplitMix64(seed: 7, stream: 3)
        var b = SplitMix64(seed: 7, stream: 3)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
        var c = SplitMix64(seed: 7, stream: 4)
        XCTAssertNotEqual(a.next(), c.next())
        for _ in 0..<1000 { let u = a.unit(); XCTAssert(u >= 0 && u < 1) }
    }
}
