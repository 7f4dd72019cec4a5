import Foundation
import Planner
import Spec
import Store
import XCTest

final class GraphTests: XCTestCase {
    func testAblationHasSharedDataStepsAndVariantsTimesSeeds() throws {
        let plan = try makePlan([ablation()])
        XCTAssertEqual(plan.steps.map(\.name), [
            "generate", "clean", "split",
            "train[baseline, seed 1337]", "evaluate[baseline, seed 1337]",
            "train[baseline, seed 28]", "evaluate[baseline, seed 28]",
            "train[attention, seed 1337]", "evaluate[attention, seed 1337]",
            "train[attention, seed 28]", "evaluate[attention, seed 28]",
            "report",
        ])
        XCTAssertEqual(plan.summary.byKind["train"]?["new"], 4)
    }

    func testInputsWireTheDAGInTopologicalOrder() throws {
        let plan = try makePlan([ablation()])
        let byName = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.name, $0) })
        let key = { (name: String) in byName[name]!.key }
        XCTAssertEqual(byName["generate"]?.inputs, [:])
        XCTAssertEqual(byName["clean"]?.inputs, ["data": key("generate")])
        XCTAssertEqual(byName["split"]?.inputs, ["data": key("clean")])
        XCTAssertEqual(byName["train[attention, seed 28]"]?.inputs, ["data": key("clean"), "split": key("split")])
        XCTAssertEqual(byName["evaluate[attention, seed 28]"]?.inputs,
                       ["model": key("train[attention, seed 28]"), "data": key("clean"), "split": key("split")])
        XCTAssertEqual(byName["report"]?.inputs.count, 8)
        XCTAssertEqual(byName["report"]?.inputs["evaluate[baseline, seed 1337]"], key("evaluate[baseline, seed 1337]"))
        var seen = Set<String>()
        for step in plan.steps {
            XCTAssertTrue(step.inputs.values.allSatisfy(seen.contains), "\(step.name) comes before an input")
            seen.insert(step.key)
        }
    }

    func testMatrixOverSplitSeedGivesTwoSplitStepsSharingGenerateAndClean() throws {
        let base = baseExperiment()
        let s29 = variant("data.split.seed=29", of: base) { $0.data.split.seed = 29 }
        let plan = try makePlan([LoadedExperiment(experiment: base,
                                                  variants: [variant("data.split.seed=28", of: base), s29],
                                                  sources: [])])
        XCTAssertEqual(plan.steps.filter { $0.kind == .generate }.map(\.name), ["generate"])
        XCTAssertEqual(plan.steps.filter { $0.kind == .clean }.map(\.name), ["clean"])
        XCTAssertEqual(plan.steps.filter { $0.kind == .split }.map(\.name), ["split[data.split.seed=28]", "split[data.split.seed=29]"])
        let splitKeys = Set(plan.steps.filter { $0.kind == .split }.map(\.key))
        XCTAssertEqual(Set(plan.steps.filter { $0.kind == .train }.map { $0.inputs["split"]! }), splitKeys)
    }

    func testVariantsWithIdenticalTrainingShareSteps() throws {
        let base = baseExperiment()
        // Only the gate differs: the same train and evaluate keys, planned once under the first name.
        let gated = variant("gated", of: base) { $0.gate = ["rmse": GateRule(max: 0.05)] }
        let plan = try makePlan([loaded(base, variants: [gated])])
        XCTAssertEqual(plan.steps.filter { $0.kind == .train }.map(\.name), ["train[baseline, seed 1337]", "train[baseline, seed 28]"])
        let report = try XCTUnwrap(plan.steps.last)
        XCTAssertEqual(report.inputs["train[gated, seed 28]"], report.inputs["train[baseline, seed 28]"])
        XCTAssertEqual(Set(plan.steps.map(\.name)).count, plan.steps.count)
    }

    func testCoresFollowTheBudgetAndStayOutOfKeys() throws {
        let inputs = try PlanInputs.gather([ablation()])
        let store = StoreSnapshot(root: URL(fileURLWithPath: "/nonexistent"))
        let wide = try Planner.plan(inputs, store: store, cores: CoreBudget(total: 8, train: 6), host: testHost)
        let narrow = try Planner.plan(inputs, store: store, cores: CoreBudget(total: 1), host: testHost)
        XCTAssertEqual(wide.steps.map(\.key), narrow.steps.map(\.key))
        let cores = Dictionary(wide.steps.map { ($0.kind, $0.cores) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(cores[.generate], 8)
        XCTAssertEqual(cores[.clean], 2)
        XCTAssertEqual(cores[.split], 1)
        XCTAssertEqual(cores[.train], 6)
        XCTAssertEqual(cores[.evaluate], 2)
        XCTAssertEqual(cores[.report], 1)
        XCTAssertTrue(narrow.steps.allSatisfy { $0.cores == 1 })
    }

    func testTrainStepsShareTheBudgetOnlyWhenAskedAndNotGivenTrainCores() throws {
        let store = StoreSnapshot(root: URL(fileURLWithPath: "/nonexistent"))
        func trainCores(_ file: LoadedExperiment, _ budget: CoreBudget) throws -> [Int] {
            try Planner.plan(PlanInputs.gather([file]), store: store, cores: budget, host: testHost).steps.filter { $0.kind == .train }.map(\.cores)
        }
        // 2 variants × 2 seeds = 4 train steps
        XCTAssertEqual(try trainCores(ablation(), CoreBudget(total: 2, shareAmongTrainSteps: true)), [1, 1, 1, 1])
        XCTAssertEqual(try trainCores(ablation(), CoreBudget(total: 8, shareAmongTrainSteps: true)), [2, 2, 2, 2])
        XCTAssertEqual(try trainCores(ablation(), CoreBudget(total: 2, train: 2, shareAmongTrainSteps: true)), [2, 2, 2, 2])
        XCTAssertEqual(try trainCores(ablation(), CoreBudget(total: 2)), [2, 2, 2, 2], "Slurm jobs do not share")
        let single = ablation { $0.seeds = [1337] }
        XCTAssertEqual(try trainCores(loaded(single.experiment), CoreBudget(total: 2, shareAmongTrainSteps: true)), [2])
        // memory: as many side by side as their modelled peaks fit
        let plan = try Planner.plan(PlanInputs.gather([ablation()]), store: store, cores: CoreBudget(total: 8), host: testHost)
        let byKey = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.key, $0) })
        let peak = try XCTUnwrap(plan.steps.filter { $0.kind == .train }.map { MemoryModel.memoryMB($0, steps: byKey) }.max())
        XCTAssertEqual(try trainCores(ablation(), CoreBudget(total: 8, shareAmongTrainSteps: true, memoryMB: 2 * peak)), [4, 4, 4, 4])
        XCTAssertEqual(try trainCores(ablation(), CoreBudget(total: 8, shareAmongTrainSteps: true, memoryMB: 4 * peak)), [2, 2, 2, 2])
        XCTAssertEqual(try trainCores(ablation(), CoreBudget(total: 2, shareAmongTrainSteps: true, memoryMB: peak / 2)), [2, 2, 2, 2])
        // a resumed apply plans cached train steps too, so a step keeps the thread count it started with
        let shared = try Planner.plan(PlanInputs.gather([ablation()]), store: store, cores: CoreBudget(total: 2, shareAmongTrainSteps: true), host: testHost)
        XCTAssertEqual(Set(shared.steps.map(\.key)), Set(try makePlan([ablation()]).steps.map(\.key)), "cores stay out of keys")
    }

    func testTwoExperimentsShareStepsByKey() throws {
        let first = ablation()
        var other = ablation()
        other.experiment.name = "other"
        for i in other.variants.indices { other.variants[i].experiment.name = "other" }
        let plan = try makePlan([first, other])
        // Everything but the report is shared (the reports list the same variants, so they share too).
        XCTAssertEqual(plan.experiments, ["ablation", "other"])
        XCTAssertEqual(plan.steps.count, try makePlan([first]).steps.count)
        XCTAssertTrue(plan.steps.allSatisfy { $0.alsoNamed == [StepName(experiment: "other", name: $0.name)] })
        XCTAssertThrowsError(try makePlan([first, first])) { error in
            XCTAssertEqual(error as? PlannerError, .duplicateExperiment("ablation"))
        }
    }

    func testIngestKeyFollowsTheDirectoryListing() throws {
        let dir = try makeTemporaryDirectory(self)
        let phantom = dir.appendingPathComponent("phantom_1", isDirectory: true)
        try FileManager.default.createDirectory(at: phantom, withIntermediateDirectories: true)
        try Data(count: 100).write(to: phantom.appendingPathComponent("phantom_1_scan.h5"))
        var base = baseExperiment()
        base.data.source = .hdf5(HDF5Source(dir: dir.path))
        let first = try makePlan([loaded(base)])
        XCTAssertEqual(first.steps.first?.kind, .ingest)
        XCTAssertEqual(first.steps.first?.params[path: "dir"], .string(dir.path))
        XCTAssertEqual(first.steps.first?.params[path: "files"], .number(1))
        XCTAssertEqual(first.dataDirectories[dir.path]?.phantomFiles, 1)
        XCTAssertEqual(try makePlan([loaded(base)]).steps.map(\.key), first.steps.map(\.key))

        try Data(count: 200).write(to: phantom.appendingPathComponent("phantom_1_scan.h5"))   // resized
        let resized = try makePlan([loaded(base)])
        XCTAssertNotEqual(resized.steps.first?.key, first.steps.first?.key)
        XCTAssertEqual(changedNames(first, resized).count, first.steps.count)

        // A link to a phantom file counts as the file.
        let elsewhere = try makeTemporaryDirectory(self).appendingPathComponent("phantom_2_scan.h5")
        try Data(count: 50).write(to: elsewhere)
        try FileManager.default.createSymbolicLink(at: phantom.appendingPathComponent("phantom_2_scan.h5"), withDestinationURL: elsewhere)
        XCTAssertEqual(try DirectoryFingerprint.read(dir: dir.path).phantomFiles, 2)

        base.data.source = .hdf5(HDF5Source(dir: dir.appendingPathComponent("missing").path))
        XCTAssertThrowsError(try makePlan([loaded(base)])) { error in
            guard case .unreadableDirectory? = error as? PlannerError else { return XCTFail("\(error)") }
        }
    }

    func testEstimatesAreGuessesWithoutThroughputAndScaleWithWork() throws {
        let plan = try makePlan([ablation()])
        XCTAssertTrue(plan.summary.estimateIsGuess)
        XCTAssertTrue(plan.steps.allSatisfy { $0.estimate.basis == .guess && $0.estimate.cpuSeconds > 0 })
        let train = try XCTUnwrap(plan.steps.first { $0.kind == .train })
        // 100 phantoms × 0.8 × 50 epochs at 32³: 3 × 3.40 GFLOP / 8 per sample-epoch plus validation.
        XCTAssertEqual(train.work.units, 4000, accuracy: 1e-9)
        XCTAssertEqual(train.work.unit, "sample-epoch@32^3/16ch")
        let perUnit = 3 * 3.40e9 / 8 + 3.40e9 / 8 * 10 / 80
        XCTAssertEqual(train.estimate.cpuSeconds, 4000 * perUnit / 25e9, accuracy: 1e-6)
        let longer = try makePlan([ablation { $0.training.epochs = 100 }])
        let longerTrain = try XCTUnwrap(longer.steps.first { $0.kind == .train })
        XCTAssertEqual(longerTrain.estimate.cpuSeconds, 2 * train.estimate.cpuSeconds, accuracy: 1e-6)
        XCTAssertEqual(plan.summary.estimatedCPUSeconds, plan.steps.map(\.estimate.cpuSeconds).reduce(0, +), accuracy: 1e-6)
    }
}

final class PlannerErrorTests: XCTestCase {
    /// A resolved configuration as a raw JSON tree (what `VariantInput(config:)` accepts).
    func config(_ base: Experiment = baseExperiment()) throws -> JSONValue { try JSONValue(encoding: base) }

    func plan(_ variants: [VariantInput]) throws -> Plan {
        try Planner.plan(PlanInputs(experiments: [ExperimentInput(name: "raw", variants: variants)], files: [], sources: []),
                         store: StoreSnapshot(root: URL(fileURLWithPath: "/nonexistent")), cores: testCores, host: testHost)
    }

    func testRawConfigTreesPlanLikeLoadedExperiments() throws {
        let raw = try plan([VariantInput(name: "baseline", config: config())])
        let loaded = try makePlan([loaded(baseExperiment())])
        XCTAssertEqual(raw.steps.map(\.key), loaded.steps.map(\.key))
    }

    func testMissingSectionsAreNamed() throws {
        guard case .object(var fields) = try config() else { return XCTFail() }
        fields["optimizer"] = nil
        XCTAssertThrowsError(try plan([VariantInput(name: "v", config: .object(fields))])) { error in
            XCTAssertEqual(error as? PlannerError, .missingSection(experiment: "raw", variant: "v", path: "optimizer", expected: "present"))
            XCTAssertEqual("\(error)", "raw, variant v: `optimizer` must be present")
        }
    }

    func testSeedsMustBeANonEmptyListOfIntegers() throws {
        guard case .object(var fields) = try config() else { return XCTFail() }
        for bad: JSONValue in [.array([]), .array([.number(1.5)]), .string("1337")] {
            fields["seeds"] = bad
            XCTAssertThrowsError(try plan([VariantInput(name: "v", config: .object(fields))]), "\(bad)") { error in
                guard case .missingSection(_, _, "seeds", _)? = error as? PlannerError else { return XCTFail("\(error)") }
            }
        }
        fields["seeds"] = .array([.number(3), .number(3), .number(4)])
        XCTAssertEqual(try plan([VariantInput(name: "v", config: .object(fields))]).steps.filter { $0.kind == .train }.map(\.seed), [3, 4])
    }

    func testUnknownSourceAndNoVariantsAreRefused() throws {
        guard case .object(var fields) = try config(), case .object(var data)? = fields["data"] else { return XCTFail() }
        data["source"] = .object(["s3": .object(["bucket": .string("x")])])
        fields["data"] = .object(data)
        XCTAssertThrowsError(try plan([VariantInput(name: "v", config: .object(fields))])) { error in
            guard case .missingSection(_, _, "data.source", _)? = error as? PlannerError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try plan([])) { error in
            XCTAssertEqual(error as? PlannerError, .noVariants(experiment: "raw"))
        }
    }
}
