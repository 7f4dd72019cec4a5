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
