// Gradient clipping by global norm (torch.nn.utils.clip_grad_norm_) and an exponential moving
// average of weights.
import Foundation

public enum GradientClipping {
    /// Global L2 norm over all gradients (accumulated in Double).
    public static func globalNorm(_ gradients: [UnsafeBufferPointer<Float>]) -> Double {
        var sum = 0.0
        for g in gradients {
            var s: Float = 0
            for x in g { s += x * x }
            sum += Double(s)
        }
        return sum.squareRoot()
    }

    /// Scales every gradient by maxNorm / (norm + 1e-6) when that is < 1, as PyTorch does.
    /// Returns the norm before clipping. Throws when the norm is NaN or Inf (names the first
    /// non-finite gradient) so a broken step never reaches the weights.
    @discardableResult
    public static func clip(_ gradients: [(name: String, values: UnsafeMutableBufferPointer<Float>)], maxNorm: Double) throws -> Double {
        guard maxNorm > 0 else { throw OptimizerError.invalid("clip max norm must be > 0 (got \(maxNorm))") }
        let norm = globalNorm(gradients.map { UnsafeBufferPointer($0.values) })
        guard norm.isFinite else {
            let bad = gradients.first { g in g.values.contains { !$0.isFinite } }?.name ?? "?"
            throw OptimizerError.nonFiniteGradient(parameter: bad)
        }
        let coef = min(1, maxNorm / (norm + 1e-6))
        if coef < 1 {
            let c = Float(coef)
            for g in gradients { for i in 0..<g.values.count { g.values[i] *= c } }
        }
        return norm
    }
}

/// shadow ← decay·shadow + (1 − decay)·value after each step; the shadow starts as a copy.
public final class WeightEMA {
    public let decay: Double
    public private(set) var shadow: [String: [Float]] = [:]

    public init(decay: Double) throws {
        guard decay > 0, decay < 1 else { throw OptimizerError.invalid("EMA decay must be in (0, 1) (got \(decay))") }
        self.decay = decay
    }

    public func update(name: String, value: UnsafeBufferPointer<Float>) {
        guard var s = shadow[name], s.count == value.count else {
            shadow[name] = Array(value)
            return
        }
        let d = Float(decay), w = Float(1 - decay)
        for i in 0..<s.count { s[i] = d * s[i] + w * value[i] }
        shadow[name] = s
    }

    public func stateTensors() -> SafetensorsFile {
        var file = SafetensorsFile(metadata: ["ema_decay": String(decay)])
        for (name, s) in shadow { file[name] = SafetensorsTensor(floats: s, shape: [s.count]) }
        return file
    }

    public func loadState(_ file: SafetensorsFile) {
        shadow = file.tensors.mapValues { $0.floats() }
    }
}
