import Foundation
import NN
import Tensor

/// A Stage 1 model as the train step saved it (`best.safetensors` / `last.safetensors`): the state
/// dict under PyTorch names, its `stage1_config` and, when trained on standardised targets, the
/// `target_standardization` statistics. Evaluate and predict both load through here, so they apply
/// the same statistics the model was trained with, and its predictions are always raw mm⁻¹.
public final class TrainedModel {
    public let model: Stage1Model
    public let standardization: TargetStandardization?

    public var config: Stage1Config { model.config }

    public init(model: Stage1Model, standardization: TargetStandardization?) {
        self.model = model
        self.standardization = standardization
    }

    /// The checkpoint file of `model` (state dict, config, standardisation statistics).
    public static func checkpointFile(_ model: Stage1Model, standardization: TargetStandardization?) throws -> SafetensorsFile {
        var file = try Checkpoint.modelFile(model)
        if let standardization { file.metadata[TargetStandardization.metadataKey] = standardization.metadataValue }
        return file
    }

    /// Loads a checkpoint written by the train step. Errors name `name` (the file as the user knows
    /// it) and say why: unreadable, not a safetensors file, no config, weights not matching it.
    public static func load(_ url: URL, name: String) throws -> TrainedModel {
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: url) } catch {
            throw StepError("cannot read \(name): \(error)")
        }
        guard let text = file.metadata["stage1_config"] else {
            throw StepError("\(name) has no stage1_config metadata (not a checkpoint written by the train step)")
        }
        do {
            let config = try JSONDecoder().decode(Stage1Config.self, from: Data(text.utf8))
            try config.validate()
            let model = try Stage1Model(config, seed: 0)
            try Checkpoint.loadModel(model, from: file)
            let standardization = try TargetStandardization.fromMetadata(file.metadata)
            if let s = standardization, s.mean.count != config.channels {
                throw StepError("\(TargetStandardization.metadataKey) has \(s.mean.count) channels, the model \(config.channels)")
            }
            return TrainedModel(model: model, standardization: standardization)
        } catch {
            throw StepError("cannot load \(name): \(error)")
        }
    }

    /// Eval-mode forward of raw volumes [N, C, S, S, S] → raw reconstructions (standardising the
    /// input and de-standardising the output when the model was trained that way).
    public func predict(_ input: Tensor, threads: Int) throws -> Tensor {
        let x = try standardization.map { try $0.standardize(input) } ?? input
        let y = try model(Variable(x), .evaluation(threads: max(1, threads))).value
        return try standardization.map { try $0.destandardize(y) } ?? y
    }

    /// The same as `predict`, shaped like a model call (evaluation only: no gradient flows back
    /// through the standardisation).
    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        guard let standardization else { return try model(x, ctx) }
        let y = try model(Variable(try standardization.standardize(x.value)), ctx)
        return Variable(try standardization.destandardize(y.value))
    }
}
