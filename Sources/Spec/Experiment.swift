// The typed, fully defaulted experiment. Pure values: the loader (Loader.swift) builds them from
// YAML, the planner hashes sections of them into content keys.
//
// Rules that keep content keys honest:
// - every knob with a default is non-optional, so the JSON encoding of a section is the complete
//   parameter set (nothing "absent means default" that could hash two ways);
// - coding keys are the YAML key names (snake_case), so a parameter diff reads like the file;
// - values that mean the same thing have one encoding (e.g. `attention: spatial` and
//   `attention: [true, true, true, true]` encode alike; `augment` is kept in a fixed order).
// Gates, descriptions and the executor are never part of a content key (the planner leaves them out).

import Foundation

// MARK: - Experiment

public struct Experiment: Codable, Hashable, Sendable {
    public var name: String
    public var description: String
    public var data: DataSpec
    public var model: ModelSpec
    public var loss: LossSpec
    public var optimizer: OptimizerSpec
    public var schedule: ScheduleSpec
    public var training: TrainingSpec
    public var evaluate: EvaluateSpec
    /// Metric name (e.g. `rmse`, `ssim.mua`) → rule. Not part of any content key.
    public var gate: [String: GateRule]
    /// Replicates of every variant; the planner makes variant × seed.
    public var seeds: [Int]
    /// Where steps run. Not part of any content key.
    public var executor: ExecutorSpec

    public init(name: String, description: String = "", data: DataSpec = DataSpec(), model: ModelSpec = ModelSpec(),
                loss: LossSpec = LossSpec(), optimizer: OptimizerSpec = OptimizerSpec(),
                schedule: ScheduleSpec = .default, training: TrainingSpec = TrainingSpec(),
                evaluate: EvaluateSpec = EvaluateSpec(), gate: [String: GateRule] = [:],
                seeds: [Int] = Experiment.defaultSeeds, executor: ExecutorSpec = .local) {
        self.name = name
        self.description = description
        self.data = data
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.schedule = schedule
        self.training = training
        self.evaluate = evaluate
        self.gate = gate
        self.seeds = seeds
        self.executor = executor
    }

    public static let defaultSeeds = [1337]
}

// MARK: - Data

public struct DataSpec: Codable, Hashable, Sendable {
    public var source: DataSource
    public var clean: CleanSpec
    public var split: SplitSpec

    public init(source: DataSource = .synthetic(SyntheticSource()), clean: CleanSpec = CleanSpec(),
                split: SplitSpec = SplitSpec()) {
        self.source = source
        self.clean = clean
        self.split = split
    }
}

/// `{synthetic: {...}}` or `{hdf5: {dir: ...}}` — encoded exactly like that.
public enum DataSource: Codable, Hashable, Sendable {
    case synthetic(SyntheticSource)
    case hdf5(HDF5Source)

    private enum CodingKeys: String, CodingKey { case synthetic, hdf5 }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let s = try c.decodeIfPresent(SyntheticSource.self, forKey: .synthetic) {
            self = .synthetic(s)
        } else {
            self = .hdf5(try c.decode(HDF5Source.self, forKey: .hdf5))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .synthetic(let s): try c.encode(s, forKey: .synthetic)
        case .hdf5(let h): try c.encode(h, forKey: .hdf5)
        }
    }
}

/// The synthetic phantom generator of DESIGN.md, deterministic from `seed`.
public struct SyntheticSource: Codable, Hashable, Sendable {
    /// Number of phantoms generated (before cleaning).
    public var count: Int
    /// Edge length of the cubic volume in voxels (1 mm each); a multiple of 32.
    public var size: Int
    public var seed: Int

    public init(count: Int = 1500, size: Int = 64, seed: Int = 7) {
        self.count = count
        self.size = size
        self.seed = seed
    }
}

/// An existing directory of phantom files (`<dir>/phantom_<k>/phantom_<k>_scan.h5`).
public struct HDF5Source: Codable, Hashable, Sendable {
    /// As written in the YAML file, resolved against the directory of the file that named it
    /// (so it may be absolute). The planner hashes the files' contents, not this path.
    public var dir: String

    public init(dir: String) { self.dir = dir }
}

/// A closed interval `[lo, hi]`, encoded as a two-element array.
public struct Interval: Codable, Hashable, Sendable {
    public var lo: Double
    public var hi: Double

    public init(_ lo: Double, _ hi: Double) {
        self.lo = lo
        self.hi = hi
    }

    public func contains(_ x: Double) -> Bool { x >= lo && x <= hi }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        lo = try c.decode(Double.self)
        hi = try c.decode(Double.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(lo)
        try c.encode(hi)
    }
}

/// Per-phantom acceptance rules of the clean step.
public struct CleanSpec: Codable, Hashable, Sendable {
    /// Fraction of voxels labelled tissue (label ≥ 1).
    public var tissueCoverage: Interval
    /// Allowed μa (mm⁻¹) of every tissue voxel. The generator makes ≤ 0.007 × 3.5 = 0.0245.
    public var muaRange: Interval
    /// Allowed μs′ (mm⁻¹) of every tissue voxel. The generator makes ≤ 1.18 × 2.5 = 2.95.
    public var muspRange: Interval
    /// Drop phantoms whose content hash equals an earlier one's.
    public var dropDuplicates: Bool
    /// Reject NaN / ±inf anywhere in the ground truth.
    public var requireFinite: Bool
    /// Reject phantoms whose labels disagree with their values (air must be 0, tissue > 0).
    public var checkLabels: Bool

    public init(tissueCoverage: Interval = Interval(0.15, 0.60), muaRange: Interval = Interval(0.0, 0.05),
                muspRange: Interval = Interval(0.0, 4.0), dropDuplicates: Bool = true, requireFinite: Bool = true,
                checkLabels: Bool = true) {
        self.tissueCoverage = tissueCoverage
        self.muaRange = muaRange
        self.muspRange = muspRange
        self.dropDuplicates = dropDuplicates
        self.requireFinite = requireFinite
        self.checkLabels = checkLabels
    }

    enum CodingKeys: String, CodingKey {
        case tissueCoverage = "tissue_coverage", muaRange = "mua_range", muspRange = "musp_range"
        case dropDuplicates = "drop_duplicates", requireFinite = "require_finite", checkLabels = "check_labels"
    }
}

public enum StratifyKey: String, Codable, Hashable, Sendable, CaseIterable {
    /// Number of tumours (0–5): its own stratum per value, no binning.
    case tumourCount = "tumour_count"
    /// Total tumour volume, quantile bins.
    case tumourVolume = "tumour_volume"
    /// Healthy-tissue μa, quantile bins.
    case healthyMua = "healthy_mua"
    /// Healthy-tissue μs′, quantile bins.
    case healthyMusp = "healthy_musp"
    /// Fraction of tissue voxels (a proxy for phantom quality), quantile bins.
    case tissueCoverage = "tissue_coverage"

    /// Keys whose values are binned (the others are discrete already).
    public var isBinned: Bool { self != .tumourCount }
}

public struct SplitRatios: Codable, Hashable, Sendable {
    public var train: Double
    public var val: Double
    public var test: Double

    public init(train: Double = 0.8, val: Double = 0.1, test: Double = 0.1) {
        self.train = train
        self.val = val
        self.test = test
    }
}

public struct SplitSpec: Codable, Hashable, Sendable {
    public var ratios: SplitRatios
    /// In a fixed order (that of `StratifyKey.allCases`), without repeats.
    public var stratifyBy: [StratifyKey]
    /// Number of quantile bins for every binned key (all binned keys present, used or not).
    public var bins: [String: Int]
    public var seed: Int

    public init(ratios: SplitRatios = SplitRatios(),
                stratifyBy: [StratifyKey] = [.tumourCount, .tumourVolume, .healthyMua],
                bins: [String: Int] = SplitSpec.defaultBins, seed: Int = 28) {
        self.ratios = ratios
        self.stratifyBy = stratifyBy
        self.bins = bins
        self.seed = seed
    }

    public static let defaultBinCount = 3
    public static let defaultBins: [String: Int] = Dictionary(
        uniqueKeysWithValues: StratifyKey.allCases.filter(\.isBinned).map { ($0.rawValue, defaultBinCount) })

    enum CodingKeys: String, CodingKey {
        case ratios, stratifyBy = "stratify_by", bins, seed
    }
}

// MARK: - Model

public struct ModelSpec: Codable, Hashable, Sendable {
    /// Channels of the first encoder layer (doubling per layer).
    public var baseChannels: Int
    public var latentDim: Int
    /// Residual blocks per encoder/decoder layer, 1–3.
    public var residualBlocks: Int
    public var attention: AttentionSpec
    public var dropout: DropoutSpec

    public init(baseChannels: Int = 16, latentDim: Int = 256, residualBlocks: Int = 1,
                attention: AttentionSpec = .none, dropout: DropoutSpec = DropoutSpec()) {
        self.baseChannels = baseChannels
        self.latentDim = latentDim
        self.residualBlocks = residualBlocks
        self.attention = attention
        self.dropout = dropout
    }

    enum CodingKeys: String, CodingKey {
        case baseChannels = "base_channels", latentDim = "latent_dim", residualBlocks = "residual_blocks"
        case attention, dropout
    }
}

/// Spatial attention (Conv3d c→c/8, ReLU, Conv3d c/8→1, Sigmoid, multiply) after each of the
/// encoder's layers that has it switched on. Encoded as `"none"`, `"spatial"` (all layers) or a
/// list of booleans, so equal meanings encode equally.
public struct AttentionSpec: Codable, Hashable, Sendable {
    public static let encoderLayers = 4

    /// One flag per encoder layer (`encoderLayers` of them).
    public var layers: [Bool]

    public init(layers: [Bool]) { self.layers = layers }

    public static let none = AttentionSpec(layers: Array(repeating: false, count: encoderLayers))
    public static let spatial = AttentionSpec(layers: Array(repeating: true, count: encoderLayers))

    public var isEnabled: Bool { layers.contains(true) }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let word = try? c.decode(String.self) {
            switch word {
            case "none": self = .none
            case "spatial": self = .spatial
            default:
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "attention must be none or spatial")
            }
        } else {
            self.layers = try c.decode([Bool].self)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if self == .none {
            try c.encode("none")
        } else if self == .spatial {
            try c.encode("spatial")
        } else {
            try c.encode(layers)
        }
    }
}

public struct DropoutSpec: Codable, Hashable, Sendable {
    public enum Kind: String, Codable, Hashable, Sendable, CaseIterable {
        /// Independent elements.
        case element
        /// Whole feature maps (channels), as Dropout3d.
        case spatial
    }

    public var kind: Kind
    /// In [0, 1); 0 disables dropout.
    public var rate: Double

    public init(kind: Kind = .element, rate: Double = 0.05) {
        self.kind = kind
        self.rate = rate
    }
}

// MARK: - Loss

public struct LossTerms: Codable, Hashable, Sendable {
    /// Weight of RMSE (channel-weighted, raw or standardised units as `training.standardize_targets`).
    public var rmse: Double
    /// Weight of (1 − SSIM), SSIM averaged over channels.
    public var ssim: Double

    public init(rmse: Double = 1.0, ssim: Double = 0.0) {
        self.rmse = rmse
        self.ssim = ssim
    }
}

public struct ChannelWeights: Codable, Hashable, Sendable {
    public var mua: Double
    public var musp: Double

    public init(mua: Double = 1.0, musp: Double = 1.0) {
        self.mua = mua
        self.musp = musp
    }
}

public struct SSIMSettings: Codable, Hashable, Sendable {
    /// Gaussian window edge length in voxels (odd).
    public var window: Int
    public var sigma: Double
    public var dataRange: Double

    public init(window: Int = 11, sigma: Double = 1.5, dataRange: Double = 1.0) {
        self.window = window
        self.sigma = sigma
        self.dataRange = dataRange
    }

    enum CodingKeys: String, CodingKey {
        case window, sigma, dataRange = "data_range"
    }
}

public struct LossSpec: Codable, Hashable, Sendable {
    public var terms: LossTerms
    public var channelWeights: ChannelWeights
    public var ssim: SSIMSettings

    public init(terms: LossTerms = LossTerms(), channelWeights: ChannelWeights = ChannelWeights(),
                ssim: SSIMSettings = SSIMSettings()) {
        self.terms = terms
        self.channelWeights = channelWeights
        self.ssim = ssim
    }

    enum CodingKeys: String, CodingKey {
        case terms, channelWeights = "channel_weights", ssim
    }
}

// MARK: - Optimizer

public enum OptimizerKind: String, Codable, Hashable, Sendable, CaseIterable {
    case adamw
    case adam
    case sgd
}

public enum Shape: String, Codable, Hashable, Sendable, CaseIterable {
    case linear
    case cosine
}

/// A constant weight decay (a number) or one scheduled over the epochs from `from` to `to`.
public enum WeightDecaySpec: Codable, Hashable, Sendable {
    case constant(Double)
    case scheduled(from: Double, to: Double, shape: Shape)

    private enum CodingKeys: String, CodingKey { case from, to, shape }

    public init(from decoder: Decoder) throws {
        if let c = try? decoder.singleValueContainer(), let x = try? c.decode(Double.self) {
            self = .constant(x)
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self = .scheduled(from: try c.decode(Double.self, forKey: .from), to: try c.decode(Double.self, forKey: .to),
                          shape: try c.decode(Shape.self, forKey: .shape))
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .constant(let x):
            var c = encoder.singleValueContainer()
            try c.encode(x)
        case .scheduled(let from, let to, let shape):
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(from, forKey: .from)
            try c.encode(to, forKey: .to)
            try c.encode(shape, forKey: .shape)
        }
    }

    /// The weight decay at `progress` ∈ [0, 1] of training.
    public func value(atProgress progress: Double) -> Double {
        switch self {
        case .constant(let x): return x
        case .scheduled(let from, let to, let shape):
            let t = min(max(progress, 0), 1)
            switch shape {
            case .linear: return from + (to - from) * t
            case .cosine: return to + (from - to) * 0.5 * (1 + cos(Double.pi * t))
            }
        }
    }
}

public struct OptimizerSpec: Codable, Hashable, Sendable {
    public var kind: OptimizerKind
    public var lr: Double
    /// Adam(W) β₁, β₂ (ignored by SGD, still recorded).
    public var betas: [Double]
    public var eps: Double
    /// SGD momentum (ignored by Adam(W)).
    public var momentum: Double
    public var nesterov: Bool
    public var weightDecay: WeightDecaySpec
    /// Clip the global gradient L2 norm to this value; nil = no clipping.
    public var gradClip: Double?

    public init(kind: OptimizerKind = .adamw, lr: Double = 5.0e-5, betas: [Double] = [0.9, 0.98], eps: Double = 1.0e-8,
                momentum: Double = 0.9, nesterov: Bool = false, weightDecay: WeightDecaySpec = .constant(1.0e-3),
                gradClip: Double? = nil) {
        self.kind = kind
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.gradClip = gradClip
    }

    enum CodingKeys: String, CodingKey {
        case kind, lr, betas, eps, momentum, nesterov, weightDecay = "weight_decay", gradClip = "grad_clip"
    }
}

// MARK: - Schedule

public struct PlateauSchedule: Codable, Hashable, Sendable {
    public var patience: Int
    public var factor: Double
    public var minLR: Double
    /// Relative improvement below which an epoch counts as no improvement (PyTorch's `rel` mode).
    public var threshold: Double
    public var cooldown: Int
    /// Validation metric watched (lower is better unless it is an SSIM/PSNR metric).
    public var metric: String

    public init(patience: Int = 3, factor: Double = 0.6, minLR: Double = 1.0e-7, threshold: Double = 1.0e-4,
                cooldown: Int = 0, metric: String = "val.rmse") {
        self.patience = patience
        self.factor = factor
        self.minLR = minLR
        self.threshold = threshold
        self.cooldown = cooldown
        self.metric = metric
    }

    enum CodingKeys: String, CodingKey {
        case patience, factor, minLR = "min_lr", threshold, cooldown, metric
    }
}

public struct LRPhase: Codable, Hashable, Sendable {
    public var epochs: Int
    public var lr: Double

    public init(epochs: Int, lr: Double) {
        self.epochs = epochs
        self.lr = lr
    }
}

public struct OneCycleSchedule: Codable, Hashable, Sendable {
    public var maxLR: Double
    /// Fraction of the steps spent increasing the LR.
    public var pctStart: Double
    /// Initial LR = max_lr / div_factor.
    public var divFactor: Double
    /// Final LR = initial LR / final_div_factor.
    public var finalDivFactor: Double
    public var anneal: Shape

    public init(maxLR: Double = 1.0e-3, pctStart: Double = 0.3, divFactor: Double = 25,
                finalDivFactor: Double = 1.0e4, anneal: Shape = .cosine) {
        self.maxLR = maxLR
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
        self.anneal = anneal
    }

    enum CodingKeys: String, CodingKey {
        case maxLR = "max_lr", pctStart = "pct_start", divFactor = "div_factor"
        case finalDivFactor = "final_div_factor", anneal
    }
}

public struct CosineSchedule: Codable, Hashable, Sendable {
    /// Linear warm-up from `lr × warmup_start_factor` to `optimizer.lr`.
    public var warmupEpochs: Int
    public var warmupStartFactor: Double
    public var minLR: Double

    public init(warmupEpochs: Int = 5, warmupStartFactor: Double = 0.1, minLR: Double = 1.0e-7) {
        self.warmupEpochs = warmupEpochs
        self.warmupStartFactor = warmupStartFactor
        self.minLR = minLR
    }

    enum CodingKeys: String, CodingKey {
        case warmupEpochs = "warmup_epochs", warmupStartFactor = "warmup_start_factor", minLR = "min_lr"
    }
}

/// The learning-rate schedule; encoded flat with a `kind` field, as written in YAML.
public enum ScheduleSpec: Codable, Hashable, Sendable {
    case constant
    case plateau(PlateauSchedule)
    /// Consecutive phases of fixed LR; after the last phase its LR is kept.
    case phases([LRPhase])
    case onecycle(OneCycleSchedule)
    case cosine(CosineSchedule)

    public static let `default` = ScheduleSpec.plateau(PlateauSchedule())

    public enum Kind: String, Codable, CaseIterable, Sendable {
        case constant, plateau, phases, onecycle, cosine
    }

    public var kind: Kind {
        switch self {
        case .constant: return .constant
        case .plateau: return .plateau
        case .phases: return .phases
        case .onecycle: return .onecycle
        case .cosine: return .cosine
        }
    }

    private enum KindKey: String, CodingKey { case kind, phases }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: KindKey.self)
        switch try c.decode(Kind.self, forKey: .kind) {
        case .constant: self = .constant
        case .plateau: self = .plateau(try PlateauSchedule(from: decoder))
        case .phases: self = .phases(try c.decode([LRPhase].self, forKey: .phases))
        case .onecycle: self = .onecycle(try OneCycleSchedule(from: decoder))
        case .cosine: self = .cosine(try CosineSchedule(from: decoder))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: KindKey.self)
        try c.encode(kind, forKey: .kind)
        switch self {
        case .constant: break
        case .plateau(let p): try p.encode(to: encoder)
        case .phases(let phases): try c.encode(phases, forKey: .phases)
        case .onecycle(let o): try o.encode(to: encoder)
        case .cosine(let s): try s.encode(to: encoder)
        }
    }
}

// MARK: - Training

public struct EarlyStoppingSpec: Codable, Hashable, Sendable {
    /// `early_stopping: off` in YAML sets this false (the other fields keep their defaults).
    public var enabled: Bool
    public var patience: Int
    public var metric: String
    public var minDelta: Double

    public init(enabled: Bool = true, patience: Int = 15, metric: String = "val.rmse", minDelta: Double = 0) {
        self.enabled = enabled
        self.patience = patience
        self.metric = metric
        self.minDelta = minDelta
    }

    enum CodingKeys: String, CodingKey {
        case enabled, patience, metric, minDelta = "min_delta"
    }
}

public enum Precision: String, Codable, Hashable, Sendable, CaseIterable {
    case fp32
    /// bf16 mixed precision: bf16 compute, fp32 master weights.
    case bf16
}

public enum Augmentation: String, Codable, Hashable, Sendable, CaseIterable {
    /// Random flips along each spatial axis.
    case flip
    /// Random 90° rotations in the axial plane.
    case rot90
}

public struct TrainingSpec: Codable, Hashable, Sendable {
    public var epochs: Int
    public var batchSize: Int
    /// Gradient accumulation steps (effective batch = batch_size × accumulate).
    public var accumulate: Int
    public var earlyStopping: EarlyStoppingSpec
    public var precision: Precision
    /// In the fixed order of `Augmentation.allCases`, without repeats; train part only.
    public var augment: [Augmentation]
    public var gradientCheckpointing: Bool
    /// Per-channel standardisation of targets fitted on the train part (metrics stay in raw units).
    public var standardizeTargets: Bool
    /// Exponential moving average of the weights (decay), nil = off.
    public var ema: Double?
    /// Deterministic kernels and data order, so a resumed run is bit-identical.
    public var deterministic: Bool

    public init(epochs: Int = 50, batchSize: Int = 64, accumulate: Int = 1,
                earlyStopping: EarlyStoppingSpec = EarlyStoppingSpec(), precision: Precision = .fp32,
                augment: [Augmentation] = [.flip], gradientCheckpointing: Bool = false,
                standardizeTargets: Bool = false, ema: Double? = nil, deterministic: Bool = true) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.accumulate = accumulate
        self.earlyStopping = earlyStopping
        self.precision = precision
        self.augment = augment
        self.gradientCheckpointing = gradientCheckpointing
        self.standardizeTargets = standardizeTargets
        self.ema = ema
        self.deterministic = deterministic
    }

    enum CodingKeys: String, CodingKey {
        case epochs, batchSize = "batch_size", accumulate, earlyStopping = "early_stopping", precision, augment
        case gradientCheckpointing = "gradient_checkpointing", standardizeTargets = "standardize_targets"
        case ema, deterministic
    }
}

// MARK: - Evaluate

public enum EvaluationSplit: String, Codable, Hashable, Sendable, CaseIterable {
    case train, val, test
}

public enum CheckpointChoice: String, Codable, Hashable, Sendable, CaseIterable {
    /// The epoch with the best validation metric (`training.early_stopping.metric`).
    case best
    case last
}

/// Metric names used by `evaluate.metrics`, gates and early stopping.
public enum Metrics {
    /// Every metric the evaluate step can compute. `x` is over both channels; `x.mua` / `x.musp` per channel.
    public static let all: [String] = ["rmse", "rmse.mua", "rmse.musp", "ssim", "ssim.mua", "ssim.musp",
                                       "psnr", "psnr.mua", "psnr.musp", "mae", "mae.mua", "mae.musp"]
    /// Validation metrics training can watch (early stopping, plateau schedule).
    public static let validation: [String] = ["val.loss"] + all.map { "val." + $0 }

    /// Direction of improvement: SSIM and PSNR grow, errors and losses shrink.
    public static func higherIsBetter(_ metric: String) -> Bool {
        let base = metric.hasPrefix("val.") ? String(metric.dropFirst(4)) : metric
        return base.hasPrefix("ssim") || base.hasPrefix("psnr")
    }
}

public struct EvaluateSpec: Codable, Hashable, Sendable {
    public var split: EvaluationSplit
    /// In the order of `Metrics.all`, without repeats.
    public var metrics: [String]
    /// Data range for PSNR (20·log10(range / RMSE)).
    public var dataRange: Double
    public var checkpoint: CheckpointChoice

    public init(split: EvaluationSplit = .test,
                metrics: [String] = ["rmse", "rmse.mua", "rmse.musp", "ssim", "ssim.mua", "ssim.musp", "psnr"],
                dataRange: Double = 1.0, checkpoint: CheckpointChoice = .best) {
        self.split = split
        self.metrics = metrics
        self.dataRange = dataRange
        self.checkpoint = checkpoint
    }

    enum CodingKeys: String, CodingKey {
        case split, metrics, dataRange = "data_range", checkpoint
    }
}

// MARK: - Gates (never part of a content key)

/// A change relative to a baseline: an absolute amount in the metric's units, or a fraction of the
/// baseline value (written `"2%"`, stored as 0.02).
public enum ChangeAmount: Codable, Hashable, Sendable {
    case absolute(Double)
    case relative(Double)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let x = try? c.decode(Double.self) {
            self = .absolute(x)
        } else {
            let text = try c.decode(String.self)
            guard text.hasSuffix("%"), let p = Double(text.dropLast()) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a number or a percentage")
            }
            self = .relative(p / 100)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .absolute(let x): try c.encode(x)
        case .relative(let f): try c.encode(ChangeAmount.percentText(f))
        }
    }

    static func percentText(_ fraction: Double) -> String {
        let p = fraction * 100
        let rounded = (p * 1e9).rounded() / 1e9
        return rounded == rounded.rounded() ? "\(Int(rounded))%" : "\(rounded)%"
    }

    /// The allowed change for a baseline value.
    public func amount(relativeTo baseline: Double) -> Double {
        switch self {
        case .absolute(let x): return x
        case .relative(let f): return abs(baseline) * f
        }
    }
}

/// What a relative gate compares against.
public enum GateBaseline: Codable, Hashable, Sendable {
    /// A variant of the same experiment, by name.
    case variant(String)
    /// A stored run manifest (path ends in `.json`; resolved against the experiment file's directory).
    case manifest(String)

    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = GateBaseline.parse(text)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .variant(let v): try c.encode(v)
        case .manifest(let m): try c.encode(m)
        }
    }

    /// A string naming a `.json` file or containing a `/` is a manifest path, anything else a variant.
    public static func parse(_ text: String) -> GateBaseline {
        text.hasSuffix(".json") || text.contains("/") ? .manifest(text) : .variant(text)
    }
}

public struct GateRule: Codable, Hashable, Sendable {
    /// Absolute bounds on the metric (mean over seeds).
    public var max: Double?
    public var min: Double?
    /// How much worse than the baseline the metric may get (in its bad direction).
    public var maxRegression: ChangeAmount?
    /// Least signed change (value − baseline) required, e.g. -0.01 lets SSIM drop by 0.01.
    public var minChange: Double?
    /// Required by `max_regression` / `min_change`; default `baseline` (the variant).
    public var against: GateBaseline?

    public init(max: Double? = nil, min: Double? = nil, maxRegression: ChangeAmount? = nil, minChange: Double? = nil,
                against: GateBaseline? = nil) {
        self.max = max
        self.min = min
        self.maxRegression = maxRegression
        self.minChange = minChange
        self.against = against
    }

    public var isRelative: Bool { maxRegression != nil || minChange != nil }

    enum CodingKeys: String, CodingKey {
        case max, min, maxRegression = "max_regression", minChange = "min_change", against
    }
}

// MARK: - Executor (never part of a content key)

public struct SlurmSpec: Codable, Hashable, Sendable {
    public var partition: String?
    public var account: String?
    /// Slurm time limit, e.g. `"02:00:00"`.
    public var time: String?
    public var qos: String?
    /// Passed to sbatch as they are.
    public var extraArgs: [String]
    /// Resubmissions of a failed or pre-empted step.
    public var retries: Int

    public init(partition: String? = nil, account: String? = nil, time: String? = nil, qos: String? = nil,
                extraArgs: [String] = [], retries: Int = 0) {
        self.partition = partition
        self.account = account
        self.time = time
        self.qos = qos
        self.extraArgs = extraArgs
        self.retries = retries
    }

    enum CodingKeys: String, CodingKey {
        case partition, account, time, qos, extraArgs = "extra_args", retries
    }
}

/// `local` or `{slurm: {...}}`.
public enum ExecutorSpec: Codable, Hashable, Sendable {
    case local
    case slurm(SlurmSpec)

    private enum CodingKeys: String, CodingKey { case slurm }

    public init(from decoder: Decoder) throws {
        if let c = try? decoder.singleValueContainer(), let word = try? c.decode(String.self) {
            guard word == "local" else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "executor must be local or {slurm: …}")
            }
            self = .local
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self = .slurm(try c.decode(SlurmSpec.self, forKey: .slurm))
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .local:
            var c = encoder.singleValueContainer()
            try c.encode("local")
        case .slurm(let s):
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(s, forKey: .slurm)
        }
    }
}

// MARK: - Variants

/// One dotted-key override of a variant, for display (`model.attention = spatial`).
public struct Override: Codable, Hashable, Sendable {
    public var path: String
    /// The value as written in the YAML file (flow style for mappings and lists).
    public var value: String

    public init(path: String, value: String) {
        self.path = path
        self.value = value
    }
}

/// One variant of an experiment: a name, the overrides that made it, the fully resolved experiment.
/// Seeds stay on `experiment.seeds`; the planner makes variant × seed.
public struct Variant: Codable, Hashable, Sendable {
    public var name: String
    public var overrides: [Override]
    public var experiment: Experiment

    public init(name: String, overrides: [Override], experiment: Experiment) {
        self.name = name
        self.overrides = overrides
        self.experiment = experiment
    }
}
