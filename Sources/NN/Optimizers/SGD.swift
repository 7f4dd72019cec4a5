// SGD with momentum (torch.optim.SGD, dampening 0). Weight decay is PyTorch's coupled L2 form for
// SGD: d = g + wd·p; buf = d on the first step, else buf·μ + d; p ← p − lr·buf, or with Nesterov
// momentum p ← p − lr·(d + μ·buf), as torch.optim.SGD(nesterov=True).
import Foundation

public struct SGDSettings: Codable, Equatable, Sendable {
    public var momentum: Double = 0.9
    public var nesterov: Bool = false
    public init(momentum: Double = 0.9, nesterov: Bool = false) { self.momentum = momentum; self.nesterov = nesterov }
}

public final class SGD: Optimizer {
    public let settings: SGDSettings
    public private(set) var stepCount = 0
    private var buffers: [String: [Float]] = [:]

    public init(_ settings: SGDSettings = SGDSettings()) throws {
        guard settings.momentum >= 0, settings.momentum < 1 else {
            throw OptimizerError.invalid("momentum must be in [0, 1) (got \(settings.momentum))")
        }
        if settings.nesterov, !(settings.momentum > 0) {
            throw OptimizerError.invalid("Nesterov momentum needs momentum > 0 (got \(settings.momentum))")
        }
        self.settings = settings
    }

    public func step(_ parameters: [ParameterSlot], _ hyper: StepHyperparameters) throws {
        for slot in parameters { try checkSlot(slot) }
        stepCount += 1
        let mu = Float(hyper.momentum ?? settings.momentum)
        let wd = Float(hyper.weightDecay), lr = Float(hyper.lr)
        for slot in parameters {
            let n = slot.value.count
            let p = slot.value, g = slot.gradient
            if mu == 0 {
                for i in 0..<n { p[i] -= lr * (g[i] + wd * p[i]) }
                continue
            }
            let existing = buffers[slot.name]
            if let b = existing, b.count != n { throw OptimizerError.stateMismatch(parameter: slot.name, expected: n, got: b.count) }
            var buf = existing ?? [Float](repeating: 0, count: n)
            let first = existing == nil
            let nesterov = settings.nesterov
            buf.withUnsafeMutableBufferPointer { b in
                for i in 0..<n {
                    let d = wd == 0 ? g[i] : g[i] + wd * p[i]
                    b[i] = first ? d : b[i] * mu + d
                    p[i] -= lr * (nesterov ? d + mu * b[i] : b[i])
                }
            }
            buffers[slot.name] = buf
        }
    }

    public func stateTensors() -> SafetensorsFile {
        var file = SafetensorsFile(metadata: ["optimizer": "sgd", "step": String(stepCount)])
        for (name, b) in buffers { file["\(name).momentum_buffer"] = SafetensorsTensor(floats: b, shape: [b.count]) }
        return file
    }

    public func loadState(_ file: SafetensorsFile) throws {
        guard file.metadata["optimizer"] == "sgd" else {
            throw OptimizerError.badState("expected SGD state, found '\(file.metadata["optimizer"] ?? "none")'")
        }
        guard let s = file.metadata["step"], let step = Int(s), step >= 0 else { throw OptimizerError.badState("missing step count") }
        var b = [String: [Float]]()
        for (key, t) in file.tensors {
            guard key.hasSuffix(".momentum_buffer") else { throw OptimizerError.badState("unexpected tensor '\(key)'") }
            b[String(key.dropLast(".momentum_buffer".count))] = t.floats()
        }
        stepCount = step
        buffers = b
    }
}
