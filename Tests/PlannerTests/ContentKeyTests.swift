import Foundation
import Planner
import Spec
import Store
import XCTest

final class ContentKeyTests: XCTestCase {
    func testKeyIsSHA256OfTheCanonicalObjectOfSchemaKindVersionParamsInputs() {
        let params = JSONValue.object(["lr": .number(0.0001), "epochs": .number(50)])
        let key = ContentKey.compute(kind: .train, params: params, inputs: ["split": "b", "data": "a"])
        let expected = #"{"inputs":{"data":"a","split":"b"},"kind":"train","params":{"epochs":50,"lr":0.0001},"schema":1,"version":1}"#
        XCTAssertEqual(key, Digest.sha256(expected))
        XCTAssertEqual(ContentKey.keySchema, 1)
    }

    func testEveryPartOfTheKeyChangesIt() {
        let params = JSONValue.object(["seed": .number(1)])
        let base = ContentKey.compute(kind: .split, version: 1, params: params, inputs: ["data": "a"])
        XCTAssertNotEqual(base, ContentKey.compute(kind: .clean, version: 1, params: params, inputs: ["data": "a"]))
        XCTAssertNotEqual(base, ContentKey.compute(kind: .split, version: 2, params: params, inputs: ["data": "a"]))
        XCTAssertNotEqual(base, ContentKey.compute(kind: .split, version: 1, params: .object(["seed": .number(2)]), inputs: ["data": "a"]))
        XCTAssertNotEqual(base, ContentKey.compute(kind: .split, version: 1, params: params, inputs: ["data": "b"]))
        XCTAssertNotEqual(base, ContentKey.compute(kind: .split, version: 1, params: params, inputs: ["source": "a"]))
    }

    func testSameSpecGivesSameKeys() throws {
        XCTAssertEqual(try makePlan([ablation()]).steps.map(\.key), try makePlan([ablation()]).steps.map(\.key))
    }

    func testDescriptionGateExecutorAndVariantOverrideTextDoNotChangeKeys() throws {
        let before = try makePlan([ablation()])
        let after = try makePlan([ablation {
            $0.description = "another description"
            $0.gate = ["rmse": GateRule(max: 0.083), "ssim": GateRule(minChange: -0.01, against: .variant("baseline"))]
            $0.executor = .slurm(SlurmSpec(partition: "gpu", time: "02:00:00"))
        }])
        XCTAssertEqual(before.steps.map(\.key), after.steps.map(\.key))
        XCTAssertEqual(before.steps.map(\.name), after.steps.map(\.name))
    }

    func testLearningRateChangesOnlyTrainEvaluateReportOfAffectedVariant() throws {
        let base = baseExperiment()
        let attention = variant("attention", of: base) { $0.model.attention = .spatial }
        let before = try makePlan([loaded(base, variants: [attention])])
        var faster = attention
        faster.experiment.optimizer.lr = 1e-4
        let after = try makePlan([loaded(base, variants: [faster])])
        XCTAssertEqual(changedNames(before, after), [
            "train[attention, seed 1337]", "train[attention, seed 28]",
            "evaluate[attention, seed 1337]", "evaluate[attention, seed 28]", "report",
        ])
    }

    func testLearningRateOfEveryVariantLeavesDataStepsAlone() throws {
        let before = try makePlan([ablation()])
        let after = try makePlan([ablation { $0.optimizer.lr = 1e-4 }])
        let changed = changedNames(before, after)
        XCTAssertEqual(changed.count, 2 * 2 * 2 + 1)
        XCTAssertTrue(changed.allSatisfy { $0.hasPrefix("train[") || $0.hasPrefix("evaluate[") || $0 == "report" })
    }

    func testSplitSeedChangesOnlySplitAndItsDependants() throws {
        let before = try makePlan([ablation()])
        let after = try makePlan([ablation { $0.data.split.seed = 29 }])
        let changed = changedNames(before, after)
        XCTAssertFalse(changed.contains("generate"))
        XCTAssertFalse(changed.contains("clean"))
        XCTAssertTrue(changed.contains("split"))
        XCTAssertEqual(changed.count, before.steps.count - 2)
    }

    func testSyntheticSeedChangesEveryStep() throws {
        let before = try makePlan([ablation()])
        let after = try makePlan([ablation { $0.data.source = .synthetic(SyntheticSource(count: 100, size: 32, seed: 8)) }])
        XCTAssertEqual(changedNames(before, after).count, before.steps.count)
    }

    func testSeedsAddStepsWithoutChangingExistingTrainKeys() throws {
        let before = try makePlan([ablation()])
        let after = try makePlan([ablation { $0.seeds = [1337, 28, 1994] }])
        let a = keysByName(before), b = keysByName(after)
        for name in a.keys where name != "report" { XCTAssertEqual(a[name], b[name], name) }
        XCTAssertNotNil(b["train[attention, seed 1994]"])
        XCTAssertNotEqual(a["report"], b["report"])
    }

    func testParamsAreExactlyTheDocumentedSections() throws {
        let plan = try makePlan([ablation()])
        let byName = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.name, $0) })
        let base = baseExperiment()
        XCTAssertEqual(byName["generate"]?.params, try JSONValue(encoding: SyntheticSource(count: 100, size: 32, seed: 7)))
        XCTAssertEqual(byName["clean"]?.params, try JSONValue(encoding: base.data.clean))
        XCTAssertEqual(byName["split"]?.params, try JSONValue(encoding: base.data.split))
        XCTAssertEqual(byName["evaluate[baseline, seed 28]"]?.params, try JSONValue(encoding: base.evaluate))
        let train = try XCTUnwrap(byName["train[baseline, seed 28]"]?.params)
        guard case .object(let fields) = train else { return XCTFail("train params are not an object") }
        XCTAssertEqual(Set(fields.keys), ["model", "loss", "optimizer", "schedule", "training", "seed"])
        XCTAssertEqual(train[path: "seed"], .number(28))
        XCTAssertEqual(train[path: "optimizer"], try JSONValue(encoding: base.optimizer))
        XCTAssertEqual(byName["report"]?.params, .object([
            "variants": .array([.string("baseline"), .string("attention")]),
            "seeds": .array([.number(1337), .number(28)]),
            "metrics": try JSONValue(encoding: base.evaluate.metrics),
        ]))
    }

    func testKeysMatchTheirParamsAndInputs() throws {
        for step in try makePlan([ablation()]).steps {
            XCTAssertEqual(step.key, ContentKey.compute(kind: step.kind, params: step.params, inputs: step.inputs), step.name)
        }
    }
}
