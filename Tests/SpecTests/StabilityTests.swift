import Foundation
import XCTest
import Spec

/// What the content keys rely on: the same meaning gives the same values and the same encoding,
/// whatever the comments, whitespace, key order or flow/block style.
final class StabilityTests: XCTestCase {
    static let original = """
        # yaml-language-server: $schema=../schemas/experiment.schema.json
        name: stable
        description: first wording
        data:
          source: {synthetic: {count: 200, size: 32, seed: 3}}
          split: {ratios: {train: 0.7, val: 0.15, test: 0.15}, seed: 5}
        model: {residual_blocks: 2, attention: spatial}
        optimizer: {lr: 2.0e-4, weight_decay: {from: 5.0e-4, to: 1.0e-5}}
        training: {epochs: 12, batch_size: 8, augment: [flip, rot90]}
        gate:
          rmse: {max: 0.083}
        ablate:
          small: {model.base_channels: 8}
          ssim: {loss.terms: {rmse: 0.7, ssim: 0.3}}
        seeds: [1, 2]
        """

    static let reformatted = """
        seeds:
          - 1
          - 2   # replicates
        ablate:
          small:
            model.base_channels: 8
          ssim: {"loss.terms": {ssim: 0.30, rmse: 0.70}}

        training:
            augment: [rot90, flip]
            batch_size: 8
            epochs: 12
        optimizer:
            weight_decay: {to: 1e-5, from: 0.0005, shape: linear}
            lr: 0.0002
        model:
            attention: [true, true, true, true]
            residual_blocks: 2
        data:
            split:
                seed: 5
                ratios: {test: 0.15, val: 0.15, train: 0.7}
            source:
                synthetic: {seed: 3, size: 32, count: 200}
        description: "first wording"
        name: stable
        gate: {rmse: {max: 0.083}}
        """

    func testReformattingChangesNothing() throws {
        let dir = try ScratchDirectory()
        let a = try ExperimentLoader.load(path: try dir.write("a.yaml", Self.original))
        let b = try ExperimentLoader.load(path: try dir.write("b.yaml", Self.reformatted))
        XCTAssertEqual(a.experiment, b.experiment)
        XCTAssertEqual(a.variants.map(\.name), b.variants.map(\.name))
        XCTAssertEqual(a.variants.map(\.experiment), b.variants.map(\.experiment))
        XCTAssertEqual(try canonicalJSON(a.experiment), try canonicalJSON(b.experiment))
        for (x, y) in zip(a.variants, b.variants) {
            XCTAssertEqual(try canonicalJSON(x.experiment), try canonicalJSON(y.experiment))
        }
        XCTAssertNotEqual(a.sources[0].contents, b.sources[0].contents, "the file bytes differ, for the planner's staleness check")
    }

    /// The sections the planner hashes do not move when gates or the description change, and
    /// exactly one moves when one knob changes.
    func testGateAndDescriptionLeaveSectionsAlone() throws {
        let dir = try ScratchDirectory()
        let a = try ExperimentLoader.load(path: try dir.write("a.yaml", Self.original)).experiment
        let changedGate = Self.original.replacingOccurrences(of: "rmse: {max: 0.083}", with: "rmse: {max: 0.09}")
            .replacingOccurrences(of: "first wording", with: "second wording")
        let b = try ExperimentLoader.load(path: try dir.write("b.yaml", changedGate)).experiment
        XCTAssertNotEqual(a, b)
        func sections(_ e: Experiment) throws -> [String] {
            [try canonicalJSON(e.data), try canonicalJSON(e.model), try canonicalJSON(e.loss),
             try canonicalJSON(e.optimizer), try canonicalJSON(e.schedule), try canonicalJSON(e.training),
             try canonicalJSON(e.evaluate), try canonicalJSON(e.seeds)]
        }
        XCTAssertEqual(try sections(a), try sections(b))

        let changedSeed = Self.original.replacingOccurrences(of: "seed: 5}", with: "seed: 6}")
        let c = try ExperimentLoader.load(path: try dir.write("c.yaml", changedSeed)).experiment
        let diff = zip(try sections(a), try sections(c)).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        XCTAssertEqual(diff, [0], "only data changes")
    }

    func testEncodingRoundTrips() throws {
        let loaded = try ExperimentLoader.load(path: Repo.experiments.appendingPathComponent("stage1-ablation.yaml").path)
        for v in loaded.variants {
            let data = try JSONEncoder().encode(v)
            XCTAssertEqual(try JSONDecoder().decode(Variant.self, from: data), v, v.name)
        }
    }
}
