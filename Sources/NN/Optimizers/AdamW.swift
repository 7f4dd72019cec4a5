// AdamW (torch.optim.AdamW, amsgrad off, non-fused, single-tensor path), update order:
//   step += 1
//   p  ← p · (1 − lr·wd)                       decoupled weight decay first
//   m  ← m + (g − m)·(1 − β1)                  (torch lerp)
//   v  ← v·β2 + (1 − β2)·g²
//   p  ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
import Foundation

public struct AdamWSettings: Codable, Equatable, Sendable {
    public var beta1: Double = 0.9
    public var beta2: Double = 0.999
    public var eps: Double = 1e-8

    public init(beta1: Double = 0.9, beta2: Double = 0.999, eps: Double = 1e-8) {
        self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
    }
}

public final class AdamW: Optimizer {
    public let settings: AdamWSettings
    public private(set) var stepCount = 0
    private var expAvg: [String: [Float]] = [:]
    private var expAvgSq: [String: [Float]] = [:]

    public init(_ settings: AdamWSettings = AdamWSettings()) throws {
        guard (0..<1).contains(settings.beta1), (0..<1).contains(settings.beta2) else {
            throw OptimizerError.invalid("betas must be in [0, 1) (got \(settings.beta1), \(settings.beta2))")
        }
        guard settings.eps > 0 else { throw OptimizerError.invalid("eps must be > 0 (got \(settings.eps))") }
        self.settings = settings
    }

    public func step(_ parameters: [ParameterSlot], _ hyper: StepHyperparameters) throws {
        for slot in parameters { try checkSlot(slot) }
        stepCount += 1
        let beta1 = hyper.momentum ?? settings.beta1
        let beta2 = settings.beta2
        let t = Double(stepCount)
        let biasCorrection1 = 1 - pow(beta1, t)
        let biasCorrection2Sqrt = (1 - pow(beta2, t)).squareRoot()
        let stepSize = Float(hyper.lr / biasCorrection1)
        let decay = Float(1 - hyper.lr * hyper.weightDecay)
        let w1 = Float(1 - beta1), b2 = Float(beta2), w2 = Float(1 - beta2)
        let eps = Float(settings.eps), bc2 = Float(biasCorrection2Sqrt)
        for slot in parameters {
            let n = slot.value.count
            // Taken out of the dictionaries (not copied): a copy would leave the dictionary holding a
            // second reference, and the first write would duplicate the whole buffer every step.
            var m = expAvg.removeValue(forKey: slot.name) ?? [Float](repeating: 0, count: n)
            var v = expAvgSq.removeValue(forKey: slot.name) ?? [Float](repeating: 0, count: n)
            guard m.count == n, v.count == n else {
                expAvg[slot.name] = m; expAvgSq[slot.name] = v
                throw OptimizerError.stateMismatch(parameter: slot.name, expected: n, got: m.count == n ? v.count : m.count)
            }
            let p = slot.value, g = slot.gradient
            m.withUnsafeMutableBufferPointer { m in
                v.withUnsafeMutableBufferPointer { v in
                    for i in 0..<n {
                        p[i] *= decay
                        let gi = g[i]
                        // torch.lerp with weight < 0.5: self + weight·(end − self)
                        m[i] = w1 < 0.5 ? m[i] + w1 * (gi - m[i]) : gi - (gi - m[i]) * (1 - w1)
                        v[i] = v[i] * b2 + w2 * gi * gi
                        let denom = v[i].squareRoot() / bc2 + eps
                        p[i] -= stepSize * (m[i] / denom)
                    }
                }
            }
            expAvg[slot.name] = m
            expAvgSq[slot.name] = v
        }
    }

    public func stateTensors() -> SafetensorsFile {
        var file = SafetensorsFile(metadata: ["optimizer": "adamw", "step": String(stepCount)])
        for (name, m) in expAvg { file["\(name).exp_avg"] = SafetensorsTensor(floats: m, shape: [m.count]) }
        for (name, v) in expAvgSq { file["\(name).exp_avg_sq"] = SafetensorsTensor(floats: v, shape: [v.count]) }
        return file
    }

    public func loadState(_ file: SafetensorsFile) throws {
        guard file.metadata["optimizer"] == "adamw" else {
            throw OptimizerError.badState("expected AdamW state, found '\(file.metadata["optimizer"] ?? "none")'")
        }
        guard let s = file.metadata["step"], let step = Int(s), step >= 0 else { throw OptimizerError.badState("missing step count") }
        var m = [String: [Float]](), v = [String: [Float]]()
        for (key, t) in file.tensors {
            if key.hasSuffix(".exp_avg_sq") { v[String(key.dropLast(".exp_avg_sq".count))] = t.floats() }
            else if key.hasSuffix(".exp_avg") { m[String(key.dropLast(".exp_avg".count))] = t.floats() }
            else { throw OptimizerError.badState("unexpected tensor '\(key)'") }
        }
        guard Set(m.keys) == Set(v.keys) else { throw OptimizerError.badState("exp_avg and exp_avg_sq name different parameters") }
        stepCount = step
        expAvg = m
        expAvgSq = v
    }
}
