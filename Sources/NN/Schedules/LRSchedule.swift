// Learning-rate schedules with PyTorch's semantics. A schedule is a value: its configuration
// (`LRSchedule`) and its mutable state (`LRScheduler`), both Codable so checkpoints save them.
//
// Who calls what: the trainer calls `afterOptimizerStep()` after every optimizer step and
// `afterEpoch(metric:)` once at the end of every epoch (metric = the monitored validation value;
// only ReduceLROnPlateau reads it). `lr` (and `momentum` for one-cycle) is what the next
// optimizer step must use.
import Foundation

public enum LRScheduleError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case missingMetric
    case pastEnd(step: Int, total: Int)

    public var description: String {
        switch self {
        case .invalid(let why): return "LR schedule: \(why)"
        case .missingMetric: return "LR schedule: ReduceLROnPlateau needs a metric at the end of each epoch"
        case .pastEnd(let step, let total): return "LR schedule: one-cycle stepped \(step) times, more than its \(total) total steps"
        }
    }
}

public struct PlateauSettings: Codable, Equatable, Sendable {
    public enum Mode: String, Codable, Sendable { case min, max }
    public var mode: Mode = .min
    public var patience: Int = 10
    public var factor: Double = 0.1
    public var minLR: Double = 0
    public var threshold: Double = 1e-4   // relative ("rel" threshold mode)
    public var cooldown: Int = 0
    public var eps: Double = 1e-8

    public init(mode: Mode = .min, patience: Int = 10, factor: Double = 0.1, minLR: Double = 0,
                threshold: Double = 1e-4, cooldown: Int = 0, eps: Double = 1e-8) {
        self.mode = mode; self.patience = patience; self.factor = factor; self.minLR = minLR
        self.threshold = threshold; self.cooldown = cooldown; self.eps = eps
    }
}

public struct LRPhase: Codable, Equatable, Sendable {
    public var epochs: Int
    public var lr: Double
    public init(epochs: Int, lr: Double) { self.epochs = epochs; self.lr = lr }
}

public struct OneCycleSettings: Codable, Equatable, Sendable {
    /// Peak learning rate (PyTorch's max_lr).
    public var maxLR: Double
    public var pctStart: Double = 0.3
    public var divFactor: Double = 25
    public var finalDivFactor: Double = 1e4
    /// Momentum (SGD momentum or Adam beta1) cycled inversely to the LR, as PyTorch does by default.
    public var cycleMomentum: Bool = true
    public var baseMomentum: Double = 0.85
    public var maxMomentum: Double = 0.95

    public init(maxLR: Double, pctStart: Double = 0.3, divFactor: Double = 25, finalDivFactor: Double = 1e4,
                cycleMomentum: Bool = true, baseMomentum: Double = 0.85, maxMomentum: Double = 0.95) {
        self.maxLR = maxLR; self.pctStart = pctStart; self.divFactor = divFactor; self.finalDivFactor = finalDivFactor
        self.cycleMomentum = cycleMomentum; self.baseMomentum = baseMomentum; self.maxMomentum = maxMomentum
    }
}

public struct CosineWarmupSettings: Codable, Equatable, Sendable {
    public var warmupSteps: Int
    public init(warmupSteps: Int) { self.warmupSteps = warmupSteps }
}

/// What the experiment asks for. `baseLR` is the optimizer's lr.
public enum LRSchedule: Codable, Equatable, Sendable {
    case constant
    /// torch.optim.lr_scheduler.ReduceLROnPlateau, stepped once per epoch with the metric.
    case plateau(PlateauSettings)
    /// Piecewise constant by epoch: phase i's lr for its epochs; the last lr stays after the end.
    case phases([LRPhase])
    /// torch.optim.lr_scheduler.OneCycleLR (cos anneal, two phases), stepped per optimizer step.
    case oneCycle(OneCycleSettings)
    /// Linear warmup from 0 over warmupSteps, then cosine decay to 0 at the last step, per
    /// optimizer step (transformers' get_cosine_schedule_with_warmup; LambdaLR in PyTorch).
    case cosineWarmup(CosineWarmupSettings)
}

/// A schedule in motion. `totalSteps` = epochs × optimizer steps per epoch (one-cycle, cosine).
public struct LRScheduler: Codable, Equatable, Sendable {
    public let schedule: LRSchedule
    public let baseLR: Double
    public let totalSteps: Int

    /// LR for the next optimizer step.
    public private(set) var lr: Double
    /// Momentum / beta1 for the next optimizer step when the schedule drives it (one-cycle).
    public private(set) var momentum: Double?
    public private(set) var stepsTaken = 0
    public private(set) var epochsTaken = 0

    // ReduceLROnPlateau state (PyTorch's names)
    public private(set) var best: Double?
    public private(set) var numBadEpochs = 0
    public private(set) var cooldownCounter = 0

    public init(_ schedule: LRSchedule, baseLR: Double, totalSteps: Int) throws {
        guard baseLR > 0, baseLR.isFinite else { throw LRScheduleError.invalid("base lr must be > 0 (got \(baseLR))") }
        self.schedule = schedule
        self.baseLR = baseLR
        self.totalSteps = totalSteps
        self.lr = baseLR
        switch schedule {
        case .constant:
            break
        case .plateau(let p):
            guard p.factor > 0, p.factor < 1 else { throw LRScheduleError.invalid("plateau factor must be in (0, 1) (got \(p.factor))") }
            guard p.patience >= 0, p.cooldown >= 0 else { throw LRScheduleError.invalid("plateau patience and cooldown must be >= 0") }
            guard p.minLR >= 0 else { throw LRScheduleError.invalid("plateau min_lr must be >= 0") }
        case .phases(let phases):
            guard !phases.isEmpty else { throw LRScheduleError.invalid("phases must not be empty") }
            for (i, ph) in phases.enumerated() {
                guard ph.epochs > 0 else { throw LRScheduleError.invalid("phase \(i + 1): epochs must be > 0 (got \(ph.epochs))") }
                guard ph.lr > 0, ph.lr.isFinite else { throw LRScheduleError.invalid("phase \(i + 1): lr must be > 0 (got \(ph.lr))") }
            }
            lr = phases[0].lr
        case .oneCycle(let s):
            guard totalSteps > 0 else { throw LRScheduleError.invalid("one-cycle needs total steps > 0") }
            guard s.maxLR > 0 else { throw LRScheduleError.invalid("one-cycle max_lr must be > 0") }
            guard s.pctStart > 0, s.pctStart < 1 else { throw LRScheduleError.invalid("one-cycle pct_start must be in (0, 1)") }
            lr = s.maxLR / s.divFactor
            momentum = s.cycleMomentum ? s.maxMomentum : nil
        case .cosineWarmup(let s):
            guard totalSteps > 0 else { throw LRScheduleError.invalid("cosine warmup needs total steps > 0") }
            guard s.warmupSteps >= 0 else { throw LRScheduleError.invalid("warmup steps must be >= 0") }
            lr = baseLR * cosineWarmupFactor(step: 0, warmup: s.warmupSteps)
        }
    }

    /// Call after every optimizer step.
    public mutating func afterOptimizerStep() throws {
        stepsTaken += 1
        switch schedule {
        case .oneCycle(let s):
            guard stepsTaken <= totalSteps else { throw LRScheduleError.pastEnd(step: stepsTaken, total: totalSteps) }
            (lr, momentum) = oneCycle(s, step: stepsTaken)
        case .cosineWarmup(let s):
            lr = baseLR * cosineWarmupFactor(step: stepsTaken, warmup: s.warmupSteps)
        default:
            break
        }
    }

    /// Call at the end of every epoch; `metric` is required for ReduceLROnPlateau.
    public mutating func afterEpoch(metric: Double?) throws {
        epochsTaken += 1
        switch schedule {
        case .plateau(let p):
            guard let current = metric else { throw LRScheduleError.missingMetric }
            plateauStep(p, current)
        case .phases(let phases):
            var end = 0
            lr = phases.last!.lr
            for ph in phases {
                end += ph.epochs
                if epochsTaken < end { lr = ph.lr; break }
            }
        default:
            break
        }
    }

    private mutating func plateauStep(_ p: PlateauSettings, _ current: Double) {
        let isBetter: Bool
        if let b = best {
            isBetter = p.mode == .min ? current < b * (1 - p.threshold) : current > b * (1 + p.threshold)
        } else {
            isBetter = !current.isNaN  // best starts at ±inf: any number is better
        }
        if isBetter {
            best = current
            numBadEpochs = 0
        } else {
            numBadEpochs += 1
        }
        if cooldownCounter > 0 {
            cooldownCounter -= 1
            numBadEpochs = 0
        }
        if numBadEpochs > p.patience {
            let newLR = max(lr * p.factor, p.minLR)
            if lr - newLR > p.eps { lr = newLR }
            cooldownCounter = p.cooldown
            numBadEpochs = 0
        }
    }

    private func cosineWarmupFactor(step: Int, warmup: Int) -> Double {
        if step < warmup { return Double(step) / Double(max(1, warmup)) }
        let progress = Double(step - warmup) / Double(max(1, totalSteps - warmup))
        return max(0, 0.5 * (1 + cos(Double.pi * progress)))
    }

    private func oneCycle(_ s: OneCycleSettings, step: Int) -> (Double, Double?) {
        let initial = s.maxLR / s.divFactor
        let minLR = initial / s.finalDivFactor
        let phase1End = s.pctStart * Double(totalSteps) - 1
        let phase2End = Double(totalSteps) - 1
        let t = Double(step)
        func anneal(_ start: Double, _ end: Double, _ pct: Double) -> Double {
            end + (start - end) / 2 * (cos(Double.pi * pct) + 1)
        }
        if t <= phase1End {
            let pct = t / phase1End
            return (anneal(initial, s.maxLR, pct), s.cycleMomentum ? anneal(s.maxMomentum, s.baseMomentum, pct) : nil)
        }
        let pct = (t - phase1End) / (phase2End - phase1End)
        return (anneal(s.maxLR, minLR, pct), s.cycleMomentum ? anneal(s.baseMomentum, s.maxMomentum, pct) : nil)
    }
}
