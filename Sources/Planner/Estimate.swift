import Store

/// How much work a step is, in the unit its throughput is recorded in, and what a guess of its
/// cost rests on when no throughput was recorded on this machine.
public struct Workload: Codable, Sendable, Hashable {
    /// Amount of work, e.g. 1500 phantoms or 60,000 sample-epochs.
    public var units: Double
    /// What one unit is, with what makes its cost differ: `phantom@64^3`, `sample-epoch@64^3/16ch`,
    /// `sample@64^3/16ch`, `phantom`, `report`. Throughput is recorded and matched per unit.
    public var unit: String
    /// Floating-point operations per unit, when the cost is arithmetic (training, evaluation).
    public var flopsPerUnit: Double?
    /// Guessed CPU seconds per unit when the cost is not arithmetic (I/O, generation).
    public var guessSecondsPerUnit: Double?

    public init(units: Double, unit: String, flopsPerUnit: Double? = nil, guessSecondsPerUnit: Double? = nil) {
        self.units = units; self.unit = unit
        self.flopsPerUnit = flopsPerUnit; self.guessSecondsPerUnit = guessSecondsPerUnit
    }

    enum CodingKeys: String, CodingKey {
        case units, unit, flopsPerUnit = "flops_per_unit", guessSecondsPerUnit = "guess_seconds_per_unit"
    }
}

/// A step's estimated CPU time, and whether it comes from recorded throughput or is a guess.
public struct Estimate: Codable, Sendable, Hashable {
    public enum Basis: String, Codable, Sendable { case measured, guess }
    public var cpuSeconds: Double
    public var basis: Basis

    public init(cpuSeconds: Double, basis: Basis) {
        self.cpuSeconds = cpuSeconds; self.basis = basis
    }

    enum CodingKeys: String, CodingKey { case cpuSeconds = "cpu_seconds", basis }
}

/// The cost model. Measured throughput of the same kind, unit and size wins; otherwise a guess:
/// arithmetic work at an assumed rate per core, other work at an assumed time per unit.
public enum CostModel {
    /// Forward pass of the Stage 1 autoencoder on one 2×64³ sample at base_channels 16.
    public static let stage1ForwardFLOPs64 = 3.40e9
    /// Forward + backward ≈ 3 forward passes.
    public static let trainingPassFactor = 3.0
    /// Sustained GFLOP/s of one core for 3D convolutions (PyTorch reaches ~43 per core here).
    public static let assumedGFLOPsPerCore = 25.0

    /// FLOPs of one forward pass at `size`³ and `baseChannels`: convolutions scale with the
    /// voxel count and with the square of the channel width.
    public static func forwardFLOPs(size: Int, baseChannels: Int) -> Double {
        let s = Double(size) / 64, c = Double(baseChannels) / 16
        return stage1ForwardFLOPs64 * s * s * s * c * c
    }

    /// `measured` is this host's throughput record of the kind (`Store.ThroughputRecord`, CPU
    /// seconds per unit); it counts only when its unit is the step's unit, which names the
    /// volume size (and model width) so a record made at 32³ never prices a 64³ step.
    public static func estimate(work: Workload, measured: ThroughputRecord?) -> Estimate {
        if let measured, measured.unit == work.unit, measured.secondsPerUnit.isFinite, measured.secondsPerUnit >= 0 {
            return Estimate(cpuSeconds: work.units * measured.secondsPerUnit, basis: .measured)
        }
        if let flops = work.flopsPerUnit {
            return Estimate(cpuSeconds: work.units * flops / (assumedGFLOPsPerCore * 1e9), basis: .guess)
        }
        return Estimate(cpuSeconds: work.units * (work.guessSecondsPerUnit ?? 0), basis: .guess)
    }

    // Guessed seconds per unit of the non-arithmetic kinds, at 64³ (scaled by voxel count).
    static let generateSecondsPerPhantom64 = 0.03
    static let ingestSecondsPerFile = 0.01
    static let cleanSecondsPerPhantom64 = 0.02
    static let splitSecondsPerPhantom = 1e-4
    static let reportSeconds = 2.0

    static func voxelScale(_ size: Int) -> Double { let s = Double(size) / 64; return s * s * s }
}

/// Peak resident memory of a step, for Slurm's `--mem`. A model fitted to peak RSS measured on
/// `runner step` processes (docs/slurm.md, "Memory"), with headroom: a job that asks for too little
/// is killed by the cluster, one that asks for somewhat too much only waits a little longer.
///
/// A train step holds its train and val volumes, the model with its gradients and optimizer
/// state, and the activations of one batch for backward; the activations dominate and grow with
/// the batch, the voxel count and the model width. Other kinds hold the process and a few volumes.
public enum MemoryModel {
    /// Resident memory of a `runner step` process besides its data, model and activations
    /// (Swift runtime, OpenBLAS and HDF5 buffers, the step's own bookkeeping).
    public static let processBaselineMB = 40.0
    /// Activation floats kept for backward per input voxel of one sample: a part that does not
    /// depend on the width (the full-resolution decoder layers have 16 channels whatever
    /// `base_channels` is; measured ≈ 78 at 32³ and 64³) and a small part per base channel.
    public static let trainActivationFloatsPerVoxel = 76.0
    public static let trainActivationFloatsPerVoxelPerChannel = 0.5
    /// Eval-mode forward (no tape) keeps only the live layers.
    public static let evaluateActivationFloatsPerVoxel = 25.0
    /// Copies of the parameters a train step holds: weights, gradients, Adam's two moments, the
    /// best weights, and the serialised checkpoint files written every epoch (measured ≈ 8.7).
    public static let parameterCopies = 9.0
    /// Copies an evaluate step holds: the checkpoint file's bytes and the model (measured ≈ 2.2).
    public static let evaluateParameterCopies = 2.5
    /// Multiplies the estimate (allocator fragmentation, buffers the model does not see).
    public static let headroom = 1.3
    /// Nothing is asked below this.
    public static let minimumMB = 256

    /// MB per step key for every step of the plan (cached ones included).
    public static func estimates(_ plan: Plan) -> [String: Int] {
        let byKey = Dictionary(plan.steps.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var out: [String: Int] = [:]
        for step in plan.steps { out[step.key] = memoryMB(step, steps: byKey) }
        return out
    }

    /// MB to ask for one step: the modelled peak with `headroom`, at least `minimumMB`.
    public static func memoryMB(_ step: PlannedStep, steps: [String: PlannedStep]) -> Int {
        max(minimumMB, Int((peakMB(step, steps: steps) * headroom).rounded(.up)))
    }

    /// The modelled peak resident memory of one step in MB, without headroom. `steps` (by key) are
    /// the plan's steps, where its inputs are looked up (the phantom count of its data, the model a step evaluates).
    public static func peakMB(_ step: PlannedStep, steps: [String: PlannedStep]) -> Double {
        let phantoms = phantomCount(of: step, in: steps)
        let size = Double(volumeSize(step.work.unit) ?? 64)
        let voxels = size * size * size
        let volumeMB = 2 * voxels * 4 / 1_048_576   // one 2-channel float32 phantom
        var mb = processBaselineMB
        switch step.kind {
        case .train:
            let channels = number(step.params, "model.base_channels") ?? 16
            let batch = number(step.params, "training.batch_size") ?? 64
            let blocks = number(step.params, "model.residual_blocks") ?? 1
            let latent = number(step.params, "model.latent_dim") ?? 256
            let checkpointed = step.params[path: "training.gradient_checkpointing"] == .bool(true)
            let perVoxel = trainActivationFloatsPerVoxel + trainActivationFloatsPerVoxelPerChannel * channels
            // Gradient checkpointing keeps roughly half of the activations (docs/engine.md: −58 % on the blocks).
            let activations = batch * voxels * perVoxel * 4 / 1_048_576 * (checkpointed ? 0.5 : 1)
            let parameters = stage1Parameters(baseChannels: channels, residualBlocks: blocks, latent: latent, size: size)
            mb += (phantoms ?? 0) * volumeMB + activations + parameters * 4 * parameterCopies / 1_048_576
        case .evaluate:
            let model = step.inputs["model"].flatMap { steps[$0]?.params } ?? .object([:])
            let parameters = stage1Parameters(baseChannels: number(model, "model.base_channels") ?? 16,
                                              residualBlocks: number(model, "model.residual_blocks") ?? 1,
                                              latent: number(model, "model.latent_dim") ?? 256, size: size)
            // Batches of 4 (EvaluateStep.batchSize); the test part is at most all phantoms.
            mb += (phantoms ?? 0) * volumeMB + 4 * voxels * evaluateActivationFloatsPerVoxel * 4 / 1_048_576
                + parameters * 4 * evaluateParameterCopies / 1_048_576
        case .generate, .clean:
            // A few volumes per core in flight, each with its work arrays.
            mb += Double(max(1, step.cores)) * 8 * volumeMB
        case .ingest, .split, .report:
            mb += 16
        }
        return mb
    }

    /// Parameters of the Stage 1 autoencoder (NN's Stage1Model): residual encoder layers of
    /// 2b…16b channels with k3 convolutions, k4 transposed convolutions 16b→…→b→16, and the
    /// latent projections (`decoder.fc` starts at max(1, size/32)³).
    public static func stage1Parameters(baseChannels b: Double, residualBlocks: Double, latent: Double, size: Double) -> Double {
        let encoder = 2 * 27 * (4 + 16 + 64 + 256) * b * b * max(1, residualBlocks)
        let decoder = 64 * (128 + 32 + 8 + 2) * b * b + 64 * 16 * b
        let start = max(1, (size / 32).rounded(.down))
        let linear = 16 * b * latent * (1 + start * start * start)
        return encoder + decoder + linear
    }

    /// `S` of a work unit naming `@S^3` (`sample-epoch@32^3/8ch`, `phantom@64^3`).
    static func volumeSize(_ unit: String) -> Int? {
        guard let at = unit.firstIndex(of: "@") else { return nil }
        return Int(unit[unit.index(after: at)...].prefix { $0.isNumber })
    }

    /// Phantoms in the data input of a train or evaluate step: the units of the clean step it reads.
    static func phantomCount(of step: PlannedStep, in steps: [String: PlannedStep]) -> Double? {
        guard let data = step.inputs["data"], let clean = steps[data] else { return nil }
        return clean.work.units
    }

    static func number(_ params: JSONValue, _ path: String) -> Double? {
        if case .number(let d)? = params[path: path] { return d }
        return nil
    }
}
