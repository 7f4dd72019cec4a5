import Foundation
import Planner
import Spec
import Store
import XCTest

/// Content-key stability from the YAML text up, through the real spec loader.
final class YAMLKeyStabilityTests: XCTestCase {
    static let experiment = """
    name: ablation
    description: Which improvements beat the baseline?
    data:
      source: {synthetic: {count: 100, size: 32, seed: 7}}
      split: {ratios: {train: 0.8, val: 0.1, test: 0.1}, stratify_by: [tumour_count], seed: 28}
    model: {base_channels: 16, attention: none}
    optimizer: {kind: adamw, lr: 5.0e-5, weight_decay: 1.0e-3}
    training: {epochs: 5, batch_size: 16}
    evaluate: {split: test, metrics: [rmse, ssim]}
    ablate:
      attention: {model.attention: spatial}
      deeper: {model.residual_blocks: 2}
    gate:
      rmse: {max: 0.083}
    seeds: [1337, 28]

    """

    func plan(_ text: String) throws -> Plan {
        let loaded = try ExperimentLoader.load(text: text, path: "experiments/ablation.yaml")
        return try Planner.plan(PlanInputs.gather([loaded]), store: StoreSnapshot(root: URL(fileURLWithPath: "/nonexistent")),
                                cores: testCores, host: testHost)
    }

    func edited(_ replacements: [(String, String)]) -> String {
        var text = Self.experiment
        for (old, new) in replacements {
            XCTAssertTrue(text.contains(old), "fixture lacks \(old)")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text
    }

    func testCommentsWhitespaceAndKeyOrderKeepEveryKey() throws {
        let keys = try plan(Self.experiment).steps.map(\.key)
        XCTAssertEqual(keys.count, 3 + 3 * 2 * 2 + 1)
        let commented = edited([("data:\n", "# the data\ndata:   # synthetic\n")])
        let spaced = edited([("{kind: adamw, lr: 5.0e-5, weight_decay: 1.0e-3}", "{ kind:  adamw ,  lr: 0.00005,weight_decay: 0.001 }")])
        let reordered = edited([("optimizer: {kind: adamw, lr: 5.0e-5, weight_decay: 1.0e-3}", "optimizer: {weight_decay: 1.0e-3, lr: 5.0e-5, kind: adamw}"),
                                ("model: {base_channels: 16, attention: none}\n", ""),
                                ("seeds: [1337, 28]\n", "seeds: [1337, 28]\nmodel:\n  attention: none\n  base_channels: 16\n")])
        let block = edited([("  split: {ratios: {train: 0.8, val: 0.1, test: 0.1}, stratify_by: [tumour_count], seed: 28}\n",
                             "  split:\n    seed: 28\n    stratify_by:\n      - tumour_count\n    ratios: {test: 0.1, val: 0.1, train: 0.8}\n")])
        for (label, text) in [("comment", commented), ("whitespace", spaced), ("key order", reordered), ("block style", block)] {
            XCTAssertEqual(try plan(text).steps.map(\.key), keys, label)
        }
    }

    func testGateAndDescriptionKeepEveryKey() throws {
        let keys = try plan(Self.experiment).steps.map(\.key)
        XCTAssertEqual(try plan(edited([("rmse: {max: 0.083}", "rmse: {max: 0.07}\n  ssim: {min_change: -0.01, against: baseline}")])).steps.map(\.key), keys)
        XCTAssertEqual(try plan(edited([("description: Which improvements beat the baseline?", "description: Something else")])).steps.map(\.key), keys)
    }

    func testLearningRateChangesOnlyTrainingAndWhatFollows() throws {
        let before = try plan(Self.experiment)
        let after = try plan(edited([("lr: 5.0e-5", "lr: 1.0e-4")]))
        XCTAssertEqual(changedNames(before, after), Set(after.steps.filter { $0.kind >= .train }.map(\.name)))
    }

    func testAblationOverrideChangesOnlyThatVariant() throws {
        let before = try plan(Self.experiment)
        let after = try plan(edited([("deeper: {model.residual_blocks: 2}", "deeper: {model.residual_blocks: 3}")]))
        XCTAssertEqual(changedNames(before, after), [
            "train[deeper, seed 1337]", "train[deeper, seed 28]", "evaluate[deeper, seed 1337]", "evaluate[deeper, seed 28]", "report",
        ])
    }

    func testSplitSeedChangesSplitAndDependantsOnly() throws {
        let before = try plan(Self.experiment)
        let after = try plan(edited([("stratify_by: [tumour_count], seed: 28}", "stratify_by: [tumour_count], seed: 29}")]))
        let changed = changedNames(before, after)
        XCTAssertEqual(changed, Set(before.steps.map(\.name)).subtracting(["generate", "clean"]))
    }

    func testMatrixOverSplitSeedPlansTwoSplits() throws {
        let text = edited([("ablate:\n  attention: {model.attention: spatial}\n  deeper: {model.residual_blocks: 2}\n",
                            "matrix:\n  data.split.seed: [28, 29]\n")])
        let plan = try plan(text)
        XCTAssertEqual(plan.steps.filter { $0.kind == .split }.count, 2)
        XCTAssertEqual(plan.steps.filter { $0.kind == .generate }.count, 1)
        XCTAssertEqual(plan.steps.filter { $0.kind == .clean }.count, 1)
        XCTAssertEqual(plan.steps.filter { $0.kind == .train }.count, 4)
        XCTAssertEqual(Set(plan.steps.map(\.name)).count, plan.steps.count)
    }
}
