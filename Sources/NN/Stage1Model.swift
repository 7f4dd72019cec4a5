// The Stage 1 autoencoder, built from a `Stage1Config`, with the module tree and state_dict
// names of tools/reference_model.py (so checkpoints load into PyTorch with strict=True).
//
//   encoder.initial_conv  Conv3d c→b k7 s2 p3 (no bias) · BN · ReLU · MaxPool3d(3, 2, 1)
//   encoder.layer1..4     N residual blocks each, b→2b (s1), 2b→4b, 4b→8b, 8b→16b (s2)
//   encoder.attention{i}  optional spatial attention after layer i
//   dropout               element (on the pooled vector) or spatial (Dropout3d before pooling)
//   encoder.feature_projection  Linear 16b → latent
//   decoder.fc            Linear latent → 16b·s³, s = max(1, size/32)
//   decoder.deconv1..5    ConvTranspose3d k4 s2 p1 (bias) · BN · ReLU: 16b→8b→4b→2b→b→16
//   decoder.final_conv    Conv3d 16→c k3 p1 (bias); trilinear resize if the size differs
import Foundation
import Tensor

public struct Stage1Config: Codable, Equatable, Sendable {
    public enum DropoutKind: String, Codable, Sendable { case element, spatial }

    public var baseChannels: Int
    public var latentDim: Int
    /// Residual blocks per encoder layer (1–3 in the ablations; any ≥ 1 accepted).
    public var residualBlocks: Int
    /// Encoder layers (1...4) followed by spatial attention; [] = none, [1, 2, 3, 4] = "spatial".
    public var attentionLayers: [Int]
    public var dropoutKind: DropoutKind
    public var dropoutRate: Double
    /// Cubic input edge in voxels (64 or 32 in practice; ≥ 32).
    public var inputSize: Int
    public var channels: Int
    /// Recompute each residual block in backward instead of keeping its activations.
    public var gradientCheckpointing: Bool

    public init(baseChannels: Int = 16, latentDim: Int = 256, residualBlocks: Int = 1, attentionLayers: [Int] = [],
                dropoutKind: DropoutKind = .element, dropoutRate: Double = 0.1, inputSize: Int = 64, channels: Int = 2,
                gradientCheckpointing: Bool = false) {
        self.baseChannels = baseChannels
        self.latentDim = latentDim
        self.residualBlocks = residualBlocks
        self.attentionLayers = attentionLayers
        self.dropoutKind = dropoutKind
        self.dropoutRate = dropoutRate
        self.inputSize = inputSize
        self.channels = channels
        self.gradientCheckpointing = gradientCheckpointing
    }

    public func validate() throws {
        func bad(_ field: String, _ why: String) -> ModelError { .invalidConfig(field: field, reason: why) }
        guard baseChannels >= 1 else { throw bad("base_channels", "must be ≥ 1 (got \(baseChannels))") }
        guard latentDim >= 1 else { throw bad("latent_dim", "must be ≥ 1 (got \(latentDim))") }
        guard residualBlocks >= 1 else { throw bad("residual_blocks", "must be ≥ 1 (got \(residualBlocks))") }
        guard attentionLayers.allSatisfy({ (1...4).contains($0) }), Set(attentionLayers).count == attentionLayers.count else {
            throw bad("attention", "layers must be distinct values in 1...4 (got \(attentionLayers))")
        }
        guard dropoutRate >= 0, dropoutRate < 1 else { throw bad("dropout.rate", "must be in [0, 1) (got \(dropoutRate))") }
        guard inputSize >= 32 else { throw bad("input_size", "must be ≥ 32 voxels (got \(inputSize))") }
        guard channels >= 1 else { throw bad("channels", "must be ≥ 1 (got \(channels))") }
    }

    /// The experiment's `attention` value: "none" → [], "spatial" → every encoder layer.
    public static func attentionLayers(named name: String) throws -> [Int] {
        switch name {
        case "none": return []
        case "spatial": return [1, 2, 3, 4]
        default: throw ModelError.invalidConfig(field: "attention", reason: "unknown value '\(name)' (expected none or spatial, or a list of encoder layers 1...4)")
        }
    }

    /// Decoder start edge: 2 at 64³, 1 at 32³.
    public var decoderInitSize: Int { max(1, inputSize / 32) }
}

public enum ModelError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(field: String, reason: String)
    case badInput(layer: String, shape: [Int], reason: String)
    case stateMismatch(String)

    public var description: String {
        switch self {
        case .invalidConfig(let f, let r): return "model.\(f): \(r)"
        case .badInput(let layer, let shape, let r): return "\(layer): input of shape \(shape): \(r)"
        case .stateMismatch(let r): return "state dict: \(r)"
        }
    }
}

public final class Stage1Model {
    public let config: Stage1Config
    public let registry = ParameterRegistry()

    let initialConv: Conv3dLayer
    let initialBN: BatchNorm3dLayer
    let layers: [[ResidualBlock]]
    let attention: [Int: SpatialAttention]
    let featureProjection: LinearLayer
    let decoderFC: LinearLayer
    let deconvs: [(ConvTranspose3dLayer, BatchNorm3dLayer)]
    let finalConv: Conv3dLayer

    /// Builds the model with freshly initialised weights (deterministic in `seed`).
    public init(_ config: Stage1Config, seed: UInt64 = 0) throws {
        try config.validate()
        self.config = config
        let root = ParameterScope(registry: registry, key: RandomKey(seed: seed, stream: 0x5EED))
        let enc = root.child("encoder"), dec = root.child("decoder")
        let b = config.baseChannels
        let ic = enc.child("initial_conv")
        initialConv = Conv3dLayer(ic.child("0"), config.channels, b, kernel: 7, stride: 2, padding: 3, bias: false)
        initialBN = BatchNorm3dLayer(ic.child("1"), b)
        let chans = [b, 2 * b, 4 * b, 8 * b, 16 * b]
        var layers = [[ResidualBlock]]()
        var attention = [Int: SpatialAttention]()
        for i in 0..<4 {
            let ls = enc.child("layer\(i + 1)")
            var blocks = [ResidualBlock(ls.child("0"), chans[i], chans[i + 1], stride: i == 0 ? 1 : 2)]
            for j in 1..<config.residualBlocks {
                blocks.append(ResidualBlock(ls.child("\(j)"), chans[i + 1], chans[i + 1], stride: 1))
            }
            layers.append(blocks)
            if config.attentionLayers.contains(i + 1) {
                attention[i + 1] = SpatialAttention(enc.child("attention\(i + 1)"), chans[i + 1])
            }
        }
        self.layers = layers
        self.attention = attention
        featureProjection = LinearLayer(enc.child("feature_projection"), 16 * b, config.latentDim)
        let s = config.decoderInitSize
        decoderFC = LinearLayer(dec.child("fc"), config.latentDim, 16 * b * s * s * s)
        let dchans = [16 * b, 8 * b, 4 * b, 2 * b, b, 16]
        deconvs = (0..<5).map { i in
            let d = dec.child("deconv\(i + 1)")
            return (ConvTranspose3dLayer(d.child("0"), dchans[i], dchans[i + 1], kernel: 4, stride: 2, padding: 1),
                    BatchNorm3dLayer(d.child("1"), dchans[i + 1]))
        }
        finalConv = Conv3dLayer(dec.child("final_conv"), 16, config.channels, kernel: 3, stride: 1, padding: 1, bias: true)
    }

    public var parameters: [(name: String, variable: Variable)] { registry.parameters }
    public var parameterCount: Int { registry.parameterCount }

    public func zeroGrad() { for p in parameters { p.variable.zeroGrad() } }

    /// Forward pass: [N, channels, S, S, S] → same shape. `dropoutKey` must differ per step
    /// (e.g. `RandomKey(seed: runSeed, stream: step)`); it is unused in evaluation.
    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext, dropoutKey: RandomKey = RandomKey(seed: 0)) throws -> Variable {
        let n = config.inputSize
        guard x.shape.count == 5, x.shape[1] == config.channels, x.shape[2] == n, x.shape[3] == n, x.shape[4] == n else {
            throw ModelError.badInput(layer: "Stage1Model", shape: x.shape,
                                      reason: "expected [N, \(config.channels), \(n), \(n), \(n)]")
        }
        guard x.shape[0] >= 1 else { throw ModelError.badInput(layer: "Stage1Model", shape: x.shape, reason: "empty batch") }
        if ctx.training && x.shape[0] < 2 {
            // layer 4 ends at 1 voxel for 32³ inputs; PyTorch refuses BN training on one value per channel
            throw ModelError.badInput(layer: "Stage1Model", shape: x.shape, reason: "training needs a batch of at least 2 (BatchNorm statistics)")
        }
        guard x.value.isFinite else { throw ModelError.badInput(layer: "Stage1Model", shape: x.shape, reason: "contains NaN or Inf") }

        var h = try initialConv(x, ctx)
        h = try initialBN.withReLU(h, ctx)
        h = try F.maxPool3d(h, kernel: 3, stride: 2, padding: 1, ctx)
        for (i, blocks) in layers.enumerated() {
            for block in blocks {
                if config.gradientCheckpointing && ctx.tape != nil {
                    h = try F.checkpoint([h], ctx) { inputs, c in try block(inputs[0], c) }
                } else {
                    h = try block(h, ctx)
                }
            }
            if let att = attention[i + 1] { h = try att(h, ctx) }
        }
        let p = Float(config.dropoutRate)
        if config.dropoutKind == .spatial { h = try F.dropout3d(h, p: p, key: dropoutKey, ctx) }
        h = try F.reshape(try F.globalAvgPool(h, ctx), [x.shape[0], 16 * config.baseChannels], ctx)
        if config.dropoutKind == .element { h = try F.dropout(h, p: p, key: dropoutKey, ctx) }
        let z = try featureProjection(h, ctx)

        let s = config.decoderInitSize
        var d = try F.reshape(try decoderFC(z, ctx), [x.shape[0], 16 * config.baseChannels, s, s, s], ctx)
        for (deconv, bn) in deconvs { d = try bn.withReLU(try deconv(d, ctx), ctx) }
        d = try finalConv(d, ctx)
        return try F.trilinearResize(d, size: Size3(n), ctx)
    }
}
