import Foundation
import XCTest
import Spec

final class ExpansionTests: XCTestCase {
    func load(_ text: String, _ dir: ScratchDirectory) throws -> LoadedExperiment {
        try ExperimentLoader.load(path: try dir.write("x.yaml", text))
    }

    func testStage1AblationIsBaselinePlusOneVariantPerRow() throws {
        let loaded = try ExperimentLoader.load(path: Repo.experiments.appendingPathComponent("stage1-ablation.yaml").path)
        XCTAssertEqual(loaded.variants.map(\.name), [
            "baseline", "lr-constant", "lr-progressive", "lr-onecycle", "lr-cosine", "batch-32-accumulate", "attention",
            "residual-2", "residual-3", "loss-ssim", "loss-weighted-mua", "epochs-100", "dropout-spatial", "wd-schedule",
            "data-stratified", "bf16", "gradient-checkpointing", "augment-rot90",
        ])
        let baseline = loaded.variants[0]
        XCTAssertEqual(baseline.experiment, loaded.experiment)
        XCTAssertEqual(baseline.overrides, [])
        XCTAssertEqual(loaded.experiment.seeds, [1337, 28, 1994])
        XCTAssertEqual(loaded.experiment.name, "stage1-ablation")
        XCTAssertEqual(loaded.sources.map { ($0.path as NSString).lastPathComponent },
                       ["stage1-ablation.yaml", "stage1-baseline.yaml"])

        let attention = try XCTUnwrap(loaded.variants.first { $0.name == "attention" })
        XCTAssertEqual(attention.overrides, [Override(path: "model.attention", value: "spatial")])
        XCTAssertEqual(attention.experiment.model.attention, .spatial)
        var undone = attention.experiment
        undone.model.attention = .none
        XCTAssertEqual(undone, baseline.experiment, "an ablation changes one factor only")

        let progressive = try XCTUnwrap(loaded.variants.first { $0.name == "lr-progressive" })
        XCTAssertEqual(progressive.experiment.schedule, .phases([LRPhase(epochs: 15, lr: 1e-4), LRPhase(epochs: 25, lr: 5e-5),
                                                                 LRPhase(epochs: 10, lr: 1e-5)]))
        let wd = try XCTUnwrap(loaded.variants.first { $0.name == "wd-schedule" })
        XCTAssertEqual(wd.experiment.optimizer.weightDecay, .scheduled(from: 5e-4, to: 1e-5, shape: .linear))
        XCTAssertEqual(loaded.experiment.gate["ssim"], GateRule(minChange: -0.01, against: .variant("baseline")))
    }

    /// Each file of experiments/ablations/ is the same experiment as the stage1-ablation variant of
    /// the same name (apart from name, description and gates).
    func testAblationFilesAgreeWithStage1AblationVariants() throws {
        let combined = try ExperimentLoader.load(path: Repo.experiments.appendingPathComponent("stage1-ablation.yaml").path)
        let dir = Repo.experiments.appendingPathComponent("ablations")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertEqual(files.count, 18)
        var matched = 0
        for file in files {
            let name = String(file.dropLast(5))
            let single = try ExperimentLoader.load(path: dir.appendingPathComponent(file).path)
            XCTAssertEqual(single.variants.map(\.name), ["baseline"])
            guard var variant = combined.variants.first(where: { $0.name == name })?.experiment else {
                XCTAssertEqual(name, "seeds-5", "\(name) has no variant in stage1-ablation.yaml")
                XCTAssertEqual(single.experiment.seeds.count, 5)
                continue
            }
            var e = single.experiment
            XCTAssertEqual(e.name, "stage1-\(name)")
            for x in [\Experiment.name, \Experiment.description] { e[keyPath: x] = ""; variant[keyPath: x] = "" }
            e.gate = [:]
            variant.gate = [:]
            XCTAssertEqual(e, variant, name)
            matched += 1
        }
        XCTAssertEqual(matched, 17)
    }

    func testQuickstartIsSmall() throws {
        let q = try ExperimentLoader.load(path: Repo.experiments.appendingPathComponent("quickstart.yaml").path)
        XCTAssertEqual(q.variants.map(\.name), ["baseline", "attention"])
        XCTAssertEqual(q.experiment.seeds.count, 2)
        XCTAssertEqual(q.experiment.data.source, .synthetic(SyntheticSource(count: 300, size: 32, seed: 7)))
        XCTAssertLessThanOrEqual(q.experiment.training.epochs, 10)
    }

    func testMatrixIsTheCartesianProductMinusExcludes() throws {
        let dir = try ScratchDirectory()
        let loaded = try load("""
            name: grid
            matrix:
              optimizer.lr: [1.0e-3, 1e-4]
              model.attention: [none, spatial, [true, false, false, false]]
              exclude:
                - {optimizer.lr: 0.0001, model.attention: spatial}
            """, dir)
        XCTAssertEqual(loaded.variants.map(\.name), [
            "lr=1.0e-3,attention=none", "lr=1.0e-3,attention=spatial", "lr=1.0e-3,attention=[true,false,false,false]",
            "lr=1e-4,attention=none", "lr=1e-4,attention=[true,false,false,false]",
        ])
        let v = loaded.variants[4]
        XCTAssertEqual(v.experiment.optimizer.lr, 1e-4)
        XCTAssertEqual(v.experiment.model.attention, AttentionSpec(layers: [true, false, false, false]))
        XCTAssertEqual(v.overrides, [Override(path: "optimizer.lr", value: "1e-4"),
                                     Override(path: "model.attention", value: "[true, false, false, false]")])
    }

    func testMatrixLabelsUseFullKeysWhenLastSegmentsCollide() throws {
        let dir = try ScratchDirectory()
        let loaded = try load("""
            name: seeds-grid
            matrix:
              data.source.synthetic.seed: [1, 2]
              data.split.seed: [3]
            """, dir)
        XCTAssertEqual(loaded.variants.map(\.name), ["data.source.synthetic.seed=1,data.split.seed=3",
                                                     "data.source.synthetic.seed=2,data.split.seed=3"])
        XCTAssertEqual(loaded.variants[1].experiment.data.split.seed, 3)
        XCTAssertEqual(loaded.variants[1].experiment.data.source, .synthetic(SyntheticSource(seed: 2)))
    }

    func testLargeMatrix() throws {
        let dir = try ScratchDirectory()
        let lrs = (1...10).map { "\($0).0e-4" }.joined(separator: ", ")
        let loaded = try load("""
            name: big
            matrix:
              optimizer.lr: [\(lrs)]
              training.batch_size: [\((1...10).map(String.init).joined(separator: ", "))]
              model.latent_dim: [\((1...10).map { String($0 * 16) }.joined(separator: ", "))]
            seeds: [1, 2, 3]
            """, dir)
        XCTAssertEqual(loaded.variants.count, 1000)
        XCTAssertEqual(Set(loaded.variants.map(\.name)).count, 1000)
        XCTAssertEqual(Set(loaded.variants.map(\.experiment)).count, 1000)
    }

    func testVariantsAreNamedOverrideSetsAndCombineWithAblate() throws {
        let dir = try ScratchDirectory()
        let loaded = try load("""
            name: mixed
            ablate:
              deeper: {model.residual_blocks: 2}
            variants:
              wide-and-deep: {model.base_channels: 32, model.residual_blocks: 3}
              plain: {}
            """, dir)
        XCTAssertEqual(loaded.variants.map(\.name), ["baseline", "deeper", "wide-and-deep", "plain"])
        XCTAssertEqual(loaded.variants[2].experiment.model.baseChannels, 32)
        XCTAssertEqual(loaded.variants[2].experiment.model.residualBlocks, 3)
        XCTAssertEqual(loaded.variants[3].experiment, loaded.experiment)

        let only = try load("""
            name: only-variants
            variants:
              small: {model.base_channels: 8}
              large: {model.base_channels: 32}
            """, dir)
        XCTAssertEqual(only.variants.map(\.name), ["small", "large"], "variants alone add no implicit baseline")
    }

    /// Overrides merge like `extends`: a partial mapping keeps the other keys; a new `kind` replaces
    /// the old kind's keys.
    func testOverridesMergeAndKindChangesReplace() throws {
        let dir = try ScratchDirectory()
        let loaded = try load("""
            name: merge
            model: {dropout: {kind: spatial, rate: 0.1}}
            schedule: {kind: plateau, patience: 7}
            ablate:
              rate: {model.dropout: {rate: 0.3}}
              cosine: {schedule: {kind: cosine, warmup_epochs: 2}}
              nested: {training: {early_stopping: {patience: 4}}}
            """, dir)
        let byName = Dictionary(uniqueKeysWithValues: loaded.variants.map { ($0.name, $0.experiment) })
        XCTAssertEqual(byName["rate"]?.model.dropout, DropoutSpec(kind: .spatial, rate: 0.3))
        XCTAssertEqual(byName["cosine"]?.schedule, .cosine(CosineSchedule(warmupEpochs: 2)))
        XCTAssertEqual(byName["nested"]?.training.earlyStopping.patience, 4)
        XCTAssertEqual(byName["nested"]?.schedule, .plateau(PlateauSchedule(patience: 7)))
    }

    func testMatrixCannotCombineWithAblate() throws {
        let dir = try ScratchDirectory()
        let d = try diagnostics("""
            name: both
            matrix: {optimizer.lr: [1.0e-3]}
            ablate: {deeper: {model.residual_blocks: 2}}
            """, in: dir)
        XCTAssertEqual(d.map(\.message), ["matrix cannot be combined with ablate in one file"])
        XCTAssertEqual(d.first?.location?.line, 3)
    }

    func testOverrideErrorsPointIntoTheOverride() throws {
        let dir = try ScratchDirectory()
        let d = try diagnostics("""
            name: o
            variants:
              a: {optimizer.lr: -1.0}
              b: {name: other}
              c: {modle.attention: spatial}
            """, in: dir)
        XCTAssertEqual(d.map { "\($0.location!.line):\($0.location!.column) \($0.message)" }, [
            "3:21 optimizer.lr must be > 0 (got -1.0)",
            "4:7 'name' cannot be overridden in a variant",
            "5:7 unknown key 'modle' (did you mean 'model'?)",
        ])
    }
}
