import Foundation
import XCTest
import Spec

/// The experiment file of DESIGN.md ("the shape users expect"), verbatim, loads as described:
/// 8 variants (baseline + 7 ablations) × 3 seeds.
final class DesignExampleTests: XCTestCase {
    static let example = """
        # yaml-language-server: $schema=../schemas/experiment.schema.json
        name: stage1-ablation
        description: Which of the guide's improvements beat the 0.083 baseline?
        extends: stage1-baseline.yaml          # everything below overrides it

        data:
          source: {synthetic: {count: 1500, size: 64, seed: 7}}   # or: {hdf5: {dir: data/phantoms}}
          clean: {tissue_coverage: [0.15, 0.60], mua_range: [0.0, 0.05], musp_range: [0.0, 4.0]}
          split:
            ratios: {train: 0.8, val: 0.1, test: 0.1}
            stratify_by: [tumour_count, tumour_volume, healthy_mua]
            seed: 28

        model: {base_channels: 16, latent_dim: 256, residual_blocks: 1, attention: none,
                dropout: {kind: element, rate: 0.05}}
        loss: {terms: {rmse: 1.0}, channel_weights: {mua: 1.0, musp: 1.0}}
        optimizer: {kind: adamw, lr: 5.0e-5, betas: [0.9, 0.98], weight_decay: 1.0e-3}
        schedule: {kind: plateau, patience: 3, factor: 0.6, min_lr: 1.0e-7}
        training: {epochs: 50, batch_size: 64, early_stopping: {patience: 15, metric: val.rmse},
                   precision: fp32, augment: [flip]}
        seeds: [1337, 28, 1994]

        ablate:                                # one factor at a time around the baseline
          attention:      {model.attention: spatial}
          deeper:         {model.residual_blocks: 2}
          ssim-loss:      {loss.terms: {rmse: 0.7, ssim: 0.3}}
          weighted-mua:   {loss.channel_weights: {mua: 2.0, musp: 1.0}}
          spatial-dropout: {model.dropout: {kind: spatial, rate: 0.1}}
          wd-schedule:    {optimizer.weight_decay: {from: 5.0e-4, to: 1.0e-5, shape: linear}}
          progressive-lr: {schedule: {kind: phases, phases: [{epochs: 30, lr: 1.0e-4}, {epochs: 50, lr: 5.0e-5}, {epochs: 20, lr: 1.0e-5}]}}

        evaluate: {split: test, metrics: [rmse, rmse.mua, rmse.musp, ssim, psnr]}
        gate:
          rmse: {max: 0.083}                   # absolute: the seed's baseline
          ssim: {min_change: -0.01, against: baseline}   # relative to the baseline variant
        """

    func testDesignExampleLoads() throws {
        let dir = try ScratchDirectory()
        try dir.write("stage1-baseline.yaml",
                      try String(contentsOf: Repo.experiments.appendingPathComponent("stage1-baseline.yaml"), encoding: .utf8))
        let loaded = try ExperimentLoader.load(path: try dir.write("stage1-ablation.yaml", Self.example))
        XCTAssertEqual(loaded.variants.map(\.name), ["baseline", "attention", "deeper", "ssim-loss", "weighted-mua",
                                                     "spatial-dropout", "wd-schedule", "progressive-lr"])
        XCTAssertEqual(loaded.experiment.seeds, [1337, 28, 1994])
        XCTAssertEqual(loaded.experiment.optimizer.lr, 5e-5, "the example's own lr wins over the base file's")
        XCTAssertEqual(loaded.experiment.evaluate.metrics, ["rmse", "rmse.mua", "rmse.musp", "ssim", "psnr"])
        let byName = Dictionary(uniqueKeysWithValues: loaded.variants.map { ($0.name, $0.experiment) })
        XCTAssertEqual(byName["ssim-loss"]?.loss.terms, LossTerms(rmse: 0.7, ssim: 0.3))
        XCTAssertEqual(byName["spatial-dropout"]?.model.dropout, DropoutSpec(kind: .spatial, rate: 0.1))
        XCTAssertEqual(byName["progressive-lr"]?.schedule.kind, .phases)
        XCTAssertEqual(loaded.experiment.gate["ssim"], GateRule(minChange: -0.01, against: .variant("baseline")))
    }
}
