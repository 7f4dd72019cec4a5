import Foundation
import Steps
import XCTest

/// The paired bootstrap against cases with known answers, and the report's ranking and verdicts.
final class ReportBootstrapTests: XCTestCase {
    func testPercentileIsNumPysLinearPercentile() {
        // np.percentile([1, 2, 3, 4], [2.5, 97.5, 50]) → [1.075, 3.925, 2.5]
        XCTAssertEqual(PairedBootstrap.percentile(sortedValues: [1, 2, 3, 4], 2.5), 1.075, accuracy: 1e-12)
        XCTAssertEqual(PairedBootstrap.percentile(sortedValues: [1, 2, 3, 4], 97.5), 3.925, accuracy: 1e-12)
        XCTAssertEqual(PairedBootstrap.percentile(sortedValues: [1, 2, 3, 4], 50), 2.5, accuracy: 1e-12)
        // np.percentile([0.5, -1, 3, 7, 2.25], [2.5, 97.5]) → [-0.85, 6.6]
        let sorted = [0.5, -1, 3, 7, 2.25].sorted()
        XCTAssertEqual(PairedBootstrap.percentile(sortedValues: sorted, 2.5), -0.85, accuracy: 1e-12)
        XCTAssertEqual(PairedBootstrap.percentile(sortedValues: sorted, 97.5), 6.6, accuracy: 1e-12)
    }

    func testConstantDifferencesGiveAPointInterval() throws {
        let i = try XCTUnwrap(PairedBootstrap.interval(Array(repeating: -0.004, count: 9)))
        XCTAssertEqual(i.mean, -0.004, accuracy: 1e-15)
        XCTAssertEqual(i.lower, -0.004, accuracy: 1e-15)
        XCTAssertEqual(i.upper, -0.004, accuracy: 1e-15)
        XCTAssertTrue(i.excludesZero)
        XCTAssertEqual(i.count, 9)
        XCTAssertFalse(try XCTUnwrap(PairedBootstrap.interval([0, 0, 0])).excludesZero)
        XCTAssertNil(PairedBootstrap.interval([]))
    }

    /// Two phantoms: a resample's mean is a (p 1/4), (a+b)/2 (p 1/2) or b (p 1/4), so the 2.5th
    /// and 97.5th percentiles are exactly a and b.
    func testTwoPhantomsHaveTheirValuesAsBounds() throws {
        let i = try XCTUnwrap(PairedBootstrap.interval([-1, 3], resamples: 4000))
        XCTAssertEqual(i.mean, 1)
        XCTAssertEqual(i.lower, -1)
        XCTAssertEqual(i.upper, 3)
        XCTAssertFalse(i.excludesZero)
    }

    /// For many phantoms the bootstrap distribution of the mean is close to normal with standard
    /// error σ/√n (σ with ddof 0, what the bootstrap resamples): the interval is mean ± 1.96·σ/√n.
    func testManyPhantomsAgreeWithTheNormalApproximation() throws {
        let n = 400
        var d: [Double] = []
        for k in 0..<n {
            let x = Double(k)
            let wave: Double = 0.05 * sin(x * 1.7)
            let ripple: Double = 0.02 * cos(x * x * 0.31)
            d.append(0.01 + wave + ripple)
        }
        let count = Double(n)
        let mean: Double = d.reduce(0, +) / count
        var squares = 0.0
        for x in d { squares += (x - mean) * (x - mean) }
        let sigma: Double = (squares / count).squareRoot()
        let standardError: Double = sigma / count.squareRoot()
        let halfWidth: Double = 1.959964 * standardError
        let i = try XCTUnwrap(PairedBootstrap.interval(d, resamples: 4000))
        XCTAssertEqual(i.mean, mean, accuracy: 1e-15)
        XCTAssertEqual(i.lower, mean - halfWidth, accuracy: 0.08 * halfWidth)
        XCTAssertEqual(i.upper, mean + halfWidth, accuracy: 0.08 * halfWidth)
        XCTAssertTrue(i.excludesZero, "mean \(mean) is \(mean / standardError) standard errors from zero")
    }

    func testTheIntervalIsDeterministicAndDependsOnTheSeed() throws {
        let d = (0..<30).map { Double(($0 * 37) % 11) - 5 }
        XCTAssertEqual(PairedBootstrap.interval(d), PairedBootstrap.interval(d))
        let other = try XCTUnwrap(PairedBootstrap.interval(d, seed: 7))
        let standard = try XCTUnwrap(PairedBootstrap.interval(d))
        XCTAssertNotEqual([other.lower, other.upper], [standard.lower, standard.upper])
    }

    /// Ranking follows each metric's direction; verdicts follow the paired interval.
    func testRankingAndVerdicts() throws {
        let ids = Array(0..<20)
        func run(_ variant: String, seed: Int, offset: Double, noise: Double) -> ReportRun {
            var per: [Int: [String: Double]] = [:]
            for id in ids {
                let wiggle = noise * sin(Double(id * 13 + seed))
                per[id] = ["rmse": 0.1 + offset + wiggle + 0.01 * Double(id % 3), "ssim": 0.8 - offset + wiggle]
            }
            let rmse = per.values.map { $0["rmse"]! }.reduce(0, +) / Double(ids.count)
            let ssim = per.values.map { $0["ssim"]! }.reduce(0, +) / Double(ids.count)
            return ReportRun(variant: variant, seed: seed, metrics: ["rmse": rmse, "ssim": ssim], perPhantom: per)
        }
        let runs = [1, 2].flatMap { s in
            [run("baseline", seed: s, offset: 0, noise: 0.001), run("better", seed: s, offset: -0.02, noise: 0.001),
             run("same", seed: s, offset: 0, noise: 0.02), run("worse", seed: s, offset: 0.03, noise: 0.001)]
        }
        let params = ReportParams(variants: ["baseline", "worse", "same", "better"], seeds: [1, 2], metrics: ["rmse", "ssim"])
        let a = ReportAnalysis(params: params, runs: runs)
        XCTAssertEqual(a.primary, "rmse")
        XCTAssertEqual(a.baseline, "baseline")
        XCTAssertEqual(a.ranked.first?.name, "better")
        XCTAssertEqual(a.ranked.last?.name, "worse")
        XCTAssertEqual(a.ranked.first?.estimates["rmse"]?.count, 2)
        XCTAssertEqual(a.comparison("better", "rmse")?.verdict, .better)
        XCTAssertEqual(a.comparison("better", "ssim")?.verdict, .better, "ssim rose: higher is better")
        XCTAssertEqual(a.comparison("worse", "rmse")?.verdict, .worse)
        XCTAssertEqual(a.comparison("worse", "ssim")?.verdict, .worse)
        XCTAssertEqual(a.comparison("same", "rmse")?.verdict, .noClearDifference)
        XCTAssertEqual(try XCTUnwrap(a.comparison("better", "rmse")?.interval?.mean), -0.02, accuracy: 1e-9)
        XCTAssertEqual(a.comparison("better", "rmse")?.interval?.count, 20)
        XCTAssertNil(a.comparison("baseline", "rmse"), "the baseline is not compared with itself")

        // Without a variant called baseline, the first variant is the baseline; ssim first ranks descending.
        let b = ReportAnalysis(params: ReportParams(variants: ["worse", "better"], seeds: [1, 2], metrics: ["ssim"]),
                               runs: runs.filter { $0.variant != "baseline" && $0.variant != "same" })
        XCTAssertEqual(b.baseline, "worse")
        XCTAssertEqual(b.ranked.map(\.name), ["better", "worse"])
        XCTAssertEqual(b.comparison("better", "ssim")?.verdict, .better)
    }

    func testVariantsWithoutSharedPhantomsAreNotComparable() {
        let runs = [ReportRun(variant: "baseline", seed: 1, metrics: ["rmse": 0.1], perPhantom: [1: ["rmse": 0.1]]),
                    ReportRun(variant: "other", seed: 1, metrics: ["rmse": 0.2], perPhantom: [2: ["rmse": 0.2]])]
        let a = ReportAnalysis(params: ReportParams(variants: ["baseline", "other"], seeds: [1], metrics: ["rmse"]), runs: runs)
        XCTAssertEqual(a.comparison("other", "rmse")?.verdict, .notComparable)
        XCTAssertNil(a.comparison("other", "rmse")?.interval)
    }
}
