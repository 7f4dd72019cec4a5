import Foundation
import Planner
import Spec
import Store
import XCTest

final class PlanStatusTests: XCTestCase {
    func testEverythingIsNewInAnEmptyStore() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let plan = try makePlan([ablation()], store: store.snapshot)
        XCTAssertTrue(plan.steps.allSatisfy { $0.status == .new && $0.action == .run && $0.why.isEmpty })
        XCTAssertEqual(plan.summary.run, 12)
        XCTAssertEqual(plan.summary.cached, 0)
    }

    func testAfterAPartialApplyRecordedStepsAreCached() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let first = try makePlan([ablation()], store: store.snapshot)
        for step in first.steps where step.kind < .train { try recordRun(step, in: store) }
        let second = try makePlan([ablation()], store: store.snapshot)
        XCTAssertEqual(second.steps.filter { $0.status == .cached }.map(\.name), ["generate", "clean", "split"])
        XCTAssertEqual(second.summary.byStatus, ["cached": 3, "new": 9])
        XCTAssertLessThan(second.summary.estimatedCPUSeconds, first.summary.estimatedCPUSeconds)
        for step in second.steps where step.kind >= .train { try recordRun(step, in: store) }
        let third = try makePlan([ablation()], store: store.snapshot)
        XCTAssertEqual(third.summary.run, 0)
        XCTAssertEqual(third.summary.estimatedCPUSeconds, 0)
    }

    func testChangedLearningRateSaysWhichParameterAndWhichInput() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        for step in try makePlan([ablation()], store: store.snapshot).steps { try recordRun(step, in: store) }
        let plan = try makePlan([ablation { $0.optimizer.lr = 1e-4 }], store: store.snapshot)
        let byName = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.name, $0) })

        XCTAssertEqual(byName["split"]?.status, .cached)
        let train = try XCTUnwrap(byName["train[attention, seed 28]"])
        XCTAssertEqual(train.status, .changed)
        XCTAssertEqual(train.why.map(\.description), ["optimizer.lr: 5e-05 → 0.0001"])

        let evaluate = try XCTUnwrap(byName["evaluate[attention, seed 28]"])
        XCTAssertEqual(evaluate.status, .changed)
        guard case .input(let role, let old?, let new?)? = evaluate.why.first, evaluate.why.count == 1 else {
            return XCTFail("evaluate why: \(evaluate.why)")
        }
        XCTAssertEqual(role, "model")
        XCTAssertEqual(new, train.key)
        XCTAssertEqual(evaluate.why.first?.description, "input model changed: \(old.prefix(10)) → \(new.prefix(10))")
        XCTAssertEqual(byName["report"]?.status, .changed)
        XCTAssertEqual(byName["report"]?.why.count, 8)
    }

    func testChangedSplitSeedRerunsOnlySplitAndDependants() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        for step in try makePlan([ablation()], store: store.snapshot).steps where step.kind < .train { try recordRun(step, in: store) }
        let plan = try makePlan([ablation { $0.data.split.seed = 29 }], store: store.snapshot)
        XCTAssertEqual(plan.steps.filter { $0.status == .cached }.map(\.name), ["generate", "clean"])
        let split = try XCTUnwrap(plan.steps.first { $0.name == "split" })
        XCTAssertEqual(split.status, .changed)
        XCTAssertEqual(split.why.map(\.description), ["seed: 28 → 29"])
        XCTAssertTrue(plan.steps.filter { $0.kind >= .train }.allSatisfy { $0.status == .new })
    }

    func testAFailedAttemptIsNewAndSaysSo() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let generate = try XCTUnwrap(makePlan([ablation()], store: store.snapshot).steps.first)
        try recordRun(generate, in: store, status: .failed)
        let again = try XCTUnwrap(makePlan([ablation()], store: store.snapshot).steps.first)
        XCTAssertEqual(again.status, .new)
        XCTAssertEqual(again.why, [.unfinished])
    }

    func testAChangedStepWhoseOldRequestIsGoneSaysSo() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let split = try XCTUnwrap(makePlan([ablation()], store: store.snapshot).steps.first { $0.name == "split" })
        try recordRun(split, in: store)
        try store.removeStep(split.key)
        let again = try XCTUnwrap(makePlan([ablation { $0.data.split.seed = 5 }], store: store.snapshot).steps.first { $0.name == "split" })
        XCTAssertEqual(again.status, .changed)
        XCTAssertEqual(again.why, [.previousRecordMissing(key: split.key)])
    }

    func testRecordedThroughputOnThisHostPricesTheSteps() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let plan = try makePlan([ablation()], store: store.snapshot)
        let train = try XCTUnwrap(plan.steps.first { $0.kind == .train })
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        try store.recordThroughput(kind: "train", host: testHost, unit: train.work.unit, seconds: 100, units: 1000, at: now)
        try store.recordThroughput(kind: "generate", host: "another-host", unit: "phantom@32^3", seconds: 1, units: 1000, at: now)
        try store.recordThroughput(kind: "evaluate", host: testHost, unit: "sample@64^3/16ch", seconds: 1, units: 1, at: now)
        let priced = try makePlan([ablation()], store: store.snapshot)
        let pricedTrain = try XCTUnwrap(priced.steps.first { $0.kind == .train })
        XCTAssertEqual(pricedTrain.estimate, Estimate(cpuSeconds: train.work.units * 0.1, basis: .measured))
        // Another host's record, and a record at another size, do not count.
        XCTAssertEqual(priced.steps.first { $0.kind == .generate }?.estimate.basis, .guess)
        XCTAssertEqual(priced.steps.first { $0.kind == .evaluate }?.estimate.basis, .guess)
        XCTAssertTrue(priced.summary.estimateIsGuess)
        XCTAssertEqual(priced.storeFingerprint, plan.storeFingerprint, "throughput is not part of the store fingerprint")
    }
}
