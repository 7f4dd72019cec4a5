import Foundation
import XCTest
import Spec

final class DefaultsTests: XCTestCase {
    func load(_ text: String) throws -> Experiment {
        let dir = try ScratchDirectory()
        return try ExperimentLoader.load(path: try dir.write("x.yaml", text)).experiment
    }

    /// A file with only a name is the fully defaulted experiment — the same as the Swift
    /// initialisers' defaults — and its encoding lists every knob.
    func testMinimalFileGetsEveryDefault() throws {
        let e = try load("name: minimal\n")
        XCTAssertEqual(e, Experiment(name: "minimal"))
        XCTAssertEqual(e.data.source, .synthetic(SyntheticSource(count: 1500, size: 64, seed: 7)))
        XCTAssertEqual(e.data.clean.tissueCoverage, Interval(0.15, 0.60))
        XCTAssertEqual(e.data.split.ratios, SplitRatios(train: 0.8, val: 0.1, test: 0.1))
        XCTAssertEqual(e.model, ModelSpec(baseChannels: 16, latentDim: 256, residualBlocks: 1, attention: .none,
                                          dropout: DropoutSpec(kind: .element, rate: 0.05)))
        XCTAssertEqual(e.schedule, .plateau(PlateauSchedule(patience: 3, factor: 0.6, minLR: 1e-7)))
        XCTAssertEqual(e.optimizer.kind, .adamw)
        XCTAssertEqual(e.training.epochs, 50)
        XCTAssertEqual(e.training.batchSize, 64)
        XCTAssertEqual(e.training.earlyStopping, EarlyStoppingSpec(enabled: true, patience: 15, metric: "val.rmse"))
        XCTAssertEqual(e.executor, .local)
        XCTAssertEqual(e.gate, [:])

        let json = try canonicalJSON(e.training)
        for key in ["epochs", "batch_size", "accumulate", "early_stopping", "precision", "augment",
                    "gradient_checkpointing", "standardize_targets", "deterministic"] {
            XCTAssertTrue(json.contains("\"\(key)\":"), "\(key) missing from \(json)")
        }
        XCTAssertTrue(try canonicalJSON(e.data.split).contains("\"stratify_by\":[\"tumour_count\",\"tumour_volume\",\"healthy_mua\"]"))
    }

    func testNullMeansTheDefault() throws {
        let e = try load("""
            name: nulls
            data:
              split:
                stratify_by:
                seed: ~
            training:
              augment:
              early_stopping: null
              ema:
            optimizer: {grad_clip: null, lr: null}
            """)
        XCTAssertEqual(e, Experiment(name: "nulls"))
    }

    func testEquivalentSpellingsDecodeAndEncodeAlike() throws {
        let a = try load("name: x\nmodel: {attention: spatial}\ntraining: {augment: [rot90, flip, rot90]}\n")
        let b = try load("name: x\nmodel: {attention: [true, true, true, true]}\ntraining: {augment: [flip, rot90]}\n")
        let c = try load("name: x\nmodel: {attention: {layers: [true, true, true, true]}}\ntraining: {augment: [flip, rot90]}\n")
        XCTAssertEqual(a, b)
        XCTAssertEqual(b, c)
        XCTAssertEqual(try canonicalJSON(a.model), try canonicalJSON(c.model))
        XCTAssertTrue(try canonicalJSON(a.model).contains("\"attention\":\"spatial\""))
        XCTAssertEqual(a.training.augment, [.flip, .rot90])

        let lr1 = try load("name: x\noptimizer: {lr: 1e-4}\n")
        let lr2 = try load("name: x\noptimizer: {lr: 0.0001}\n")
        XCTAssertEqual(lr1, lr2)
        XCTAssertEqual(lr1.optimizer.lr, 1e-4)
    }

    func testShorthands() throws {
        let e = try load("""
            name: x
            data: {source: synthetic, split: {bins: 5, stratify_by: tumour_volume}}
            model: {dropout: 0.2}
            schedule: constant
            training: {early_stopping: false, augment: none, ema: 0.999}
            evaluate: {metrics: rmse}
            seeds: 42
            """)
        XCTAssertEqual(e.data.source, .synthetic(SyntheticSource()))
        XCTAssertEqual(e.data.split.bins, ["tumour_volume": 5, "healthy_mua": 5, "healthy_musp": 5, "tissue_coverage": 5])
        XCTAssertEqual(e.data.split.stratifyBy, [.tumourVolume])
        XCTAssertEqual(e.model.dropout, DropoutSpec(kind: .element, rate: 0.2))
        XCTAssertEqual(e.schedule, .constant)
        XCTAssertFalse(e.training.earlyStopping.enabled)
        XCTAssertEqual(e.training.augment, [])
        XCTAssertEqual(e.training.ema, 0.999)
        XCTAssertEqual(e.evaluate.metrics, ["rmse"])
        XCTAssertEqual(e.seeds, [42])
    }

    func testLossTermsListedOnlyAndGates() throws {
        let e = try load("""
            name: x
            loss: {terms: {ssim: 0.3}}
            ablate:
              deeper: {model.residual_blocks: 2}
            gate:
              rmse: {max: 0.083, max_regression: 2%}
              ssim: {min_change: -0.01}
              psnr: {min: 20, max_regression: 0.5, against: runs/ref/manifest.json}
            """)
        XCTAssertEqual(e.loss.terms, LossTerms(rmse: 0, ssim: 0.3))
        XCTAssertEqual(e.gate["rmse"], GateRule(max: 0.083, maxRegression: .relative(0.02), against: .variant("baseline")))
        XCTAssertEqual(e.gate["ssim"], GateRule(minChange: -0.01, against: .variant("baseline")))
        let psnr = try XCTUnwrap(e.gate["psnr"])
        XCTAssertEqual(psnr.maxRegression, .absolute(0.5))
        guard case .manifest(let path) = psnr.against else { return XCTFail("expected a manifest path") }
        XCTAssertTrue(path.hasSuffix("/runs/ref/manifest.json") && path.hasPrefix("/"), path)
        XCTAssertTrue(try canonicalJSON(e.gate["rmse"]!).contains("\"max_regression\":\"2%\""))
        XCTAssertEqual(ChangeAmount.relative(0.02).amount(relativeTo: 0.083), 0.083 * 0.02, accuracy: 1e-15)
    }

    func testScheduleKinds() throws {
        XCTAssertEqual(try load("name: x\nschedule: {kind: onecycle, max_lr: 0.01}\n").schedule,
                       .onecycle(OneCycleSchedule(maxLR: 0.01)))
        XCTAssertEqual(try load("name: x\nschedule: {kind: phases, phases: [{epochs: 2, lr: 0.1}]}\n").schedule,
                       .phases([LRPhase(epochs: 2, lr: 0.1)]))
        XCTAssertEqual(try load("name: x\ntraining: {epochs: 3}\nschedule: {kind: cosine}\n").schedule,
                       .cosine(CosineSchedule(warmupEpochs: 2)), "default warm-up shrinks to fit short runs")
        XCTAssertEqual(try load("name: x\ntraining: {epochs: 1}\nschedule: cosine\n").schedule,
                       .cosine(CosineSchedule(warmupEpochs: 0)))
        XCTAssertEqual(try load("name: x\nexecutor: {slurm: {partition: gpu, time: \"02:00:00\", retries: 2}}\n").executor,
                       .slurm(SlurmSpec(partition: "gpu", time: "02:00:00", retries: 2)))
    }

    func testQuotedNumbersAreStrings() throws {
        let dir = try ScratchDirectory()
        let d = try diagnostics("name: x\noptimizer: {lr: \"1e-4\"}\ntraining: {deterministic: \"true\"}\n", in: dir)
        XCTAssertEqual(d.map(\.message), ["optimizer.lr must be a number (got '1e-4')",
                                          "training.deterministic must be true or false (got 'true')"])
    }

    func testMoreRangeChecks() throws {
        let dir = try ScratchDirectory()
        let d = try diagnostics("""
            name: bad name
            data:
              clean: {tissue_coverage: [0.7, 0.2], mua_range: [0.1]}
              split: {ratios: {train: 0.9, val: 0.0, test: 0.0}}
            model: {base_channels: 4, attention: spatial}
            loss: {terms: {rmse: 0}, ssim: {window: 10}}
            optimizer: {betas: [0.9, 1.0], momentum: 1.5, grad_clip: 0}
            schedule: {kind: plateau, factor: 1.0, metric: val.rsme}
            training: {epochs: 0, batch_size: -1, accumulate: 0, precision: fp16, ema: 1.0}
            executor: {slurm: {time: soon}}
            """, in: dir)
        XCTAssertEqual(d.map(\.message), [
            "name must be letters, digits, '.', '_' or '-' (got 'bad name')",
            "data.clean.tissue_coverage must have lo <= hi (got [0.7, 0.2])",
            "data.clean.mua_range must be a list [lo, hi] of two numbers (got a list of 1)",
            "data.split.ratios must sum to 1 (got 0.9: train 0.9 + val 0 + test 0)",
            "data.split.ratios.val is 0 but training.early_stopping and schedule (plateau) need validation metrics",
            "evaluate.split is test but data.split.ratios.test is 0",
            "model.base_channels must be >= 8 with attention (its bottleneck is c/8) (got 4)",
            "loss.terms must give at least one term a weight > 0",
            "loss.ssim.window must be an odd integer >= 3 (got 10)",
            "optimizer.betas[1] must be in [0, 1) (got 1.0)",
            "optimizer.momentum must be in [0, 1) (got 1.5)",
            "optimizer.grad_clip must be > 0 (got 0)",
            "schedule.factor must be in (0, 1) (got 1.0)",
            "schedule.metric must be one of \(Metrics.validation.joined(separator: ", ")) (got 'val.rsme') (did you mean 'val.rmse'?)",
            "training.epochs must be >= 1 (got 0)",
            "training.batch_size must be >= 1 (got -1)",
            "training.accumulate must be >= 1 (got 0)",
            "training.precision must be one of fp32, bf16 (got 'fp16') (did you mean 'fp32'?)",
            "training.ema must be in (0, 1) (got 1.0)",
            "executor.slurm.time must be a Slurm time such as \"02:00:00\", \"1-00:00:00\" or \"90\" (got 'soon')",
        ])
    }
}

final class YAMLFeatureTests: XCTestCase {
    func testAnchorsAliasesAndMergeKeys() throws {
        let dir = try ScratchDirectory()
        let loaded = try ExperimentLoader.load(path: try dir.write("x.yaml", """
            name: anchors
            model: &model {base_channels: 32, residual_blocks: 2}
            variants:
              same: {model: *model}
              merged:
                model:
                  <<: *model
                  residual_blocks: 3
            """))
        XCTAssertEqual(loaded.variants.map(\.name), ["same", "merged"])
        XCTAssertEqual(loaded.variants[0].experiment.model.residualBlocks, 2)
        XCTAssertEqual(loaded.variants[1].experiment.model.residualBlocks, 3)
        XCTAssertEqual(loaded.variants[1].experiment.model.baseChannels, 32)
    }

    func testLoadFromText() throws {
        let dir = try ScratchDirectory()
        try dir.write("base.yaml", "name: base\ntraining: {epochs: 3}\n")
        let path = dir.url.appendingPathComponent("unsaved.yaml").path
        let loaded = try ExperimentLoader.load(text: "extends: base.yaml\nname: t\n", path: path)
        XCTAssertEqual(loaded.experiment.training.epochs, 3)
        XCTAssertEqual(loaded.sources.map(\.path), [path, dir.url.appendingPathComponent("base.yaml").path])
        XCTAssertThrowsError(try ExperimentLoader.load(text: "name: [", path: path)) { error in
            XCTAssertEqual((error as? SpecError)?.diagnostics.first?.location?.file, path)
        }
    }

    func testEmptyAndCommentOnlyFiles() throws {
        let dir = try ScratchDirectory()
        for text in ["", "# only a comment\n"] {
            let d = try diagnostics(text, in: dir)
            XCTAssertEqual(d.map(\.message), ["missing required key 'name'"])
        }
        let big = try diagnostics("name: x\ntraining: {epochs: 99999999999999999999}\n", in: dir)
        XCTAssertEqual(big.map(\.message), ["training.epochs must be an integer of at most 18 digits (got 99999999999999999999)"])
        let tabs = try diagnostics("name: x\nmodel:\n\tbase_channels: 8\n", in: dir)
        XCTAssertEqual(tabs.count, 1)
        XCTAssertTrue(tabs[0].message.hasPrefix("invalid YAML: "), tabs[0].message)
        XCTAssertEqual(tabs[0].location?.line, 3)
        let twoDocs = try diagnostics("name: x\n---\nname: y\n", in: dir)
        XCTAssertTrue(twoDocs[0].message.hasPrefix("invalid YAML: "), twoDocs[0].message)
    }

    func testNotUTF8() throws {
        let dir = try ScratchDirectory()
        let path = dir.url.appendingPathComponent("latin1.yaml").path
        try Data([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0xff, 0x0a]).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ExperimentLoader.load(path: path)) { error in
            XCTAssertEqual((error as? SpecError)?.diagnostics.map(\.message), ["cannot read '\(path)': not UTF-8 text"])
        }
    }
}
