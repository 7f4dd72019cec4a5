import Spec
import Steps
import XCTest

final class TrainGatesTests: XCTestCase {
    let results: [String: [String: [Double]]] = [
        "baseline": ["rmse": [0.080, 0.084], "ssim": [0.90, 0.92]],
        "attention": ["rmse": [0.0850, 0.0870], "ssim": [0.89, 0.90]],
    ]

    func testEstimateUsesStudentT() {
        let e = Gates.estimate([0.080, 0.084])
        XCTAssertEqual(e.mean, 0.082, accuracy: 1e-12)
        // sd = 0.002828…, se = 0.002, t(1) = 12.706
        XCTAssertEqual(e.halfWidth, 12.706 * 0.002, accuracy: 1e-9)
        XCTAssertEqual(Gates.estimate([0.5]).halfWidth, 0)
    }

    func testAbsoluteThresholdsOnTheMeanOverSeeds() {
        let pass = Gates.evaluate(["rmse": GateRule(max: 0.083)], variant: "baseline", results: results)
        XCTAssertEqual(pass.map(\.passed), [true])
        let fail = Gates.evaluate(["rmse": GateRule(max: 0.083)], variant: "attention", results: results)
        XCTAssertEqual(fail.map(\.passed), [false])
        XCTAssertTrue(fail[0].message.contains("rmse") && fail[0].message.contains("0.086") && fail[0].message.contains("max 0.083"), fail[0].message)
        XCTAssertEqual(Gates.evaluate(["ssim": GateRule(min: 0.9)], variant: "attention", results: results).map(\.passed), [false])
    }

    func testRegressionAgainstTheBaselineFollowsTheMetricsDirection() {
        // rmse: baseline 0.082, +2% → 0.08364; attention 0.086 fails, 5% (→ 0.0861) passes
        XCTAssertEqual(Gates.evaluate(["rmse": GateRule(maxRegression: .relative(0.02))], variant: "attention", results: results).map(\.passed), [false])
        XCTAssertEqual(Gates.evaluate(["rmse": GateRule(maxRegression: .relative(0.05))], variant: "attention", results: results).map(\.passed), [true])
        // ssim is higher-is-better: baseline 0.91, attention 0.895; an absolute drop of 0.01 is too much, 0.02 is fine
        XCTAssertEqual(Gates.evaluate(["ssim": GateRule(maxRegression: .absolute(0.01))], variant: "attention", results: results).map(\.passed), [false])
        XCTAssertEqual(Gates.evaluate(["ssim": GateRule(maxRegression: .absolute(0.02))], variant: "attention", results: results).map(\.passed), [true])
    }

    func testMissingResultsFailTheGate() {
        XCTAssertEqual(Gates.evaluate(["psnr": GateRule(min: 10)], variant: "baseline", results: results).map(\.passed), [false])
        XCTAssertEqual(Gates.evaluate(["rmse": GateRule(maxRegression: .relative(0.02), against: .variant("nope"))], variant: "attention",
                                      results: results).map(\.passed), [false])
    }

    func testSummaryTable() {
        let table = Gates.summaryTable(variants: ["baseline", "attention"], metrics: ["rmse", "psnr"], results: results)
        let lines = table.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[1].hasPrefix("baseline") && lines[1].contains("0.082 ± 0.025") && lines[1].contains("—"), table)
    }
}
