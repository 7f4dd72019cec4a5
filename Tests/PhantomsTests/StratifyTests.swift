import Foundation
import Phantoms
import XCTest

final class StratifyTests: XCTestCase {
    func stats(_ count: Int, seed: UInt64 = 3) -> [Int: PhantomStats] {
        // Synthetic statistics spread over every key's bins (no volumes needed to test the split).
        var rng = SplitMix64(seed: seed, stream: 0)
        var out: [Int: PhantomStats] = [:]
        for id in 0..<count {
            out[id] = PhantomStats(tumourCount: rng.below(6), tumourVolume: rng.below(20_000), healthyMua: rng.uniform(0.003, 0.007),
                                   healthyMusp: rng.uniform(0.78, 1.18), tissueCoverage: 0.3, voxels: 64 * 64 * 64)
        }
        return out
    }

    func testEachStratumIsSplitWithinOneOfItsTarget() throws {
        let all = stats(700)
        let config = SplitConfig(ratios: [0.8, 0.1, 0.1], stratifyBy: [.tumourCount, .tumourVolume, .healthyMua], seed: 28)
        let split = try Stratify.split(all, config: config)
        XCTAssertGreaterThan(split.strata.count, 20)
        for s in split.strata {
            XCTAssertEqual(s.counts.reduce(0, +), s.total)
            for (p, ratio) in config.ratios.enumerated() {
                XCTAssertLessThanOrEqual(abs(Double(s.counts[p]) - ratio * Double(s.total)), 1.0, "\(s)")
            }
        }
        // No overlap, union = all, counts agree with the strata.
        let sets = split.ids.map(Set.init)
        XCTAssertEqual(sets.map(\.count), split.ids.map(\.count))
        XCTAssertTrue(sets[0].isDisjoint(with: sets[1]) && sets[0].isDisjoint(with: sets[2]) && sets[1].isDisjoint(with: sets[2]))
        XCTAssertEqual(sets[0].union(sets[1]).union(sets[2]), Set(all.keys))
        for p in 0..<3 { XCTAssertEqual(split.strata.map { $0.counts[p] }.reduce(0, +), split.ids[p].count) }
        XCTAssertEqual(split.ids(of: "val"), split.ids[1])
    }

    func testDeterministicForASeedAndDifferentForAnother() throws {
        let all = stats(300)
        let a = try Stratify.split(all, config: SplitConfig(stratifyBy: [.tumourCount], seed: 1))
        let b = try Stratify.split(all, config: SplitConfig(stratifyBy: [.tumourCount], seed: 1))
        let c = try Stratify.split(all, config: SplitConfig(stratifyBy: [.tumourCount], seed: 2))
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.ids, c.ids)
        XCTAssertEqual(a.strata, c.strata)   // same sizes per stratum, different members
    }

    func testStrataFollowTheBinEdges() throws {
        let all: [Int: PhantomStats] = [
            0: .init(tumourCount: 0, tumourVolume: 0, healthyMua: 0.0035, healthyMusp: 1, tissueCoverage: 0.3, voxels: 1),
            1: .init(tumourCount: 0, tumourVolume: 0, healthyMua: 0.0045, healthyMusp: 1, tissueCoverage: 0.3, voxels: 1),
            2: .init(tumourCount: 0, tumourVolume: 0, healthyMua: 0.0065, healthyMusp: 1, tissueCoverage: 0.3, voxels: 1),
            3: .init(tumourCount: 0, tumourVolume: 0, healthyMua: 0.0066, healthyMusp: 1, tissueCoverage: 0.3, voxels: 1),
        ]
        let split = try Stratify.split(all, config: SplitConfig(ratios: [0.5, 0.5, 0], stratifyBy: [.healthyMua],
                                                                             bins: [.healthyMua: .edges([0.004, 0.006])], seed: 0))
        XCTAssertEqual(split.strata.map(\.label), ["healthy_mua<0.004", "healthy_mua=[0.004, 0.006)", "healthy_mua≥0.006"])
        XCTAssertEqual(split.strata.map(\.total), [1, 1, 2])
        XCTAssertEqual(split.strata.last?.counts, [1, 1, 0])
    }

    func testQuantileBinsHoldSimilarCounts() throws {
        let all = stats(600)
        let split = try Stratify.split(all, config: SplitConfig(stratifyBy: [.healthyMusp], bins: [.healthyMusp: .quantiles(4)], seed: 5))
        XCTAssertEqual(split.strata.count, 4)
        XCTAssertEqual(split.binEdges["healthy_musp"]?.count, 3)
        XCTAssert(split.strata.allSatisfy { abs($0.total - 150) <= 1 }, "\(split.strata.map(\.total))")
        // Ties (e.g. many phantoms without tumours, volume 0) merge edges instead of making empty bins.
        var ties = all
        for id in 0..<400 { ties[id]!.tumourVolume = 0 }
        let tied = try Stratify.split(ties, config: SplitConfig(stratifyBy: [.tumourVolume], bins: [.tumourVolume: .quantiles(3)], seed: 5))
        XCTAssert(tied.strata.allSatisfy { $0.total > 0 })
        XCTAssertEqual(tied.strata.map(\.total).reduce(0, +), 600)
    }

    func testLargestRemainder() {
        XCTAssertEqual(Stratify.allocate(10, ratios: [0.8, 0.1, 0.1]), [8, 1, 1])
        XCTAssertEqual(Stratify.allocate(7, ratios: [0.8, 0.1, 0.1]), [5, 1, 1])   // 5.6, 0.7, 0.7
        XCTAssertEqual(Stratify.allocate(1, ratios: [0.8, 0.1, 0.1]), [1, 0, 0])
        XCTAssertEqual(Stratify.allocate(3, ratios: [1.0 / 3, 1.0 / 3, 1.0 / 3]), [1, 1, 1])
        XCTAssertEqual(Stratify.allocate(0, ratios: [0.8, 0.2]), [0, 0])
    }

    func testBadConfigurationsAreErrors() {
        XCTAssertThrowsError(try Stratify.split([:], config: SplitConfig(ratios: [0.5, 0.2, 0.2])))
        XCTAssertThrowsError(try Stratify.split([:], config: SplitConfig(ratios: [0.5, 0.5])))
        XCTAssertThrowsError(try Stratify.split([:], config: SplitConfig(bins: [.healthyMua: .edges([0.005, 0.004])])))
    }
}
