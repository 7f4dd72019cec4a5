// Weight-decay schedules: constant, or linear / cosine from → to over a number of epochs.
// Epoch e (0-based) uses from + (to − from)·s(p) with p = min(1, e / (epochs − 1)),
// s(p) = p (linear) or (1 − cos πp)/2 (cosine); so epoch 0 uses `from`, epoch epochs−1 and
// later use `to`. The value is stateless given the epoch, hence trivially Codable.
import Foundation

public enum WeightDecaySchedule: Codable, Equatable, Sendable {
    public enum Shape: String, Codable, Sendable { case linear, cosine }

    case constant(Double)
    case ramp(from: Double, to: Double, shape: Shape, epochs: Int)

    public func validate() throws {
        switch self {
        case .constant(let wd):
            guard wd >= 0, wd.isFinite else { throw LRScheduleError.invalid("weight decay must be >= 0 (got \(wd))") }
        case .ramp(let from, let to, _, let epochs):
            guard from >= 0, to >= 0, from.isFinite, to.isFinite else {
                throw LRScheduleError.invalid("weight decay from/to must be >= 0 (got \(from) → \(to))")
            }
            guard epochs > 0 else { throw LRScheduleError.invalid("weight decay schedule epochs must be > 0 (got \(epochs))") }
        }
    }

    /// Weight decay for 0-based epoch `epoch`.
    public func value(epoch: Int) -> Double {
        switch self {
        case .constant(let wd):
            return wd
        case .ramp(let from, let to, let shape, let epochs):
            let p = epochs <= 1 ? 1 : min(1, Double(max(0, epoch)) / Double(epochs - 1))
            let s = shape == .linear ? p : (1 - cos(Double.pi * p)) / 2
            return from + (to - from) * s
        }
    }
}
