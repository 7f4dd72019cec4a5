/// Reverse-mode autodiff: operations append a record (inputs, output, gradient rule) while the
/// forward runs; `backward` walks the records in reverse, calling each rule once with the output's
/// gradient and adding the input gradients into the inputs. Records hold the tensors their rules
/// need (saved activations) until the backward pass frees them.
public final class Tape {
    struct Record {
        let op: String
        let inputs: [Variable]
        let output: Variable
        let savedFloats: Int
        /// Gradient rule: output gradient → one gradient (or nil) per input.
        let rule: (Tensor) throws -> [Tensor?]
    }

    var records: [Record] = []
    /// Floats held by the records right now, and the most held at once since `init`/`resetPeak()`.
    public private(set) var savedFloats = 0
    public private(set) var peakSavedFloats = 0

    public init() {}

    public var recordCount: Int { records.count }

    public func resetPeak() { peakSavedFloats = savedFloats }

    /// Notes a transient need of `floats` on top of what the records hold (a recomputed block).
    func notePeak(extra floats: Int) { peakSavedFloats = max(peakSavedFloats, savedFloats + floats) }

    /// Drops every record (and the activations they hold) without a backward pass.
    public func clear() {
        records.removeAll()
        savedFloats = 0
    }

    /// Records an operation. `saved` counts the floats its rule keeps alive (for memory reports).
    func record(_ op: String, inputs: [Variable], output: Variable, saved: Int, rule: @escaping (Tensor) throws -> [Tensor?]) {
        records.append(Record(op: op, inputs: inputs, output: output, savedFloats: saved, rule: rule))
        savedFloats += saved
        peakSavedFloats = max(peakSavedFloats, savedFloats)
    }

    /// Backward from a one-element loss (seed gradient 1). Throws `nonFinite` if the loss is NaN/Inf
    /// (nothing is accumulated then) or if an operation produces a non-finite gradient (naming it).
    public func backward(_ loss: Variable, checkFinite: Bool = true) throws {
        guard loss.value.count == 1 else {
            throw TensorError.shapeMismatch(op: "backward", shapes: [loss.shape], reason: "backward() needs a one-element loss; use backward(_:seed:) otherwise")
        }
        if checkFinite { try loss.value.requireFinite(op: "backward", what: "loss") }
        try backward(loss, seed: Tensor(shape: loss.shape, repeating: 1), checkFinite: checkFinite)
    }

    /// Backward from `output` with gradient `seed` (same shape). Consumes the tape's records.
    public func backward(_ output: Variable, seed: Tensor, checkFinite: Bool = true) throws {
        guard seed.shape == output.shape else {
            throw TensorError.shapeMismatch(op: "backward", shapes: [output.shape, seed.shape], reason: "seed gradient must have the output's shape")
        }
        defer { clear() }
        output.accumulate(seed)
        while let r = records.popLast() {   // popping frees each record's saved tensors as we go
            savedFloats -= r.savedFloats
            guard let g = r.output.grad else { continue }
            if !r.output.isLeaf { r.output.grad = nil }
            let grads = try r.rule(g)
            for (input, gi) in zip(r.inputs, grads) {
                guard input.requiresGrad, let gi else { continue }
                if checkFinite && !gi.isFinite {
                    throw TensorError.nonFinite(op: r.op, what: "gradient of input \(input.name ?? "") \(input.shape)", shape: gi.shape)
                }
                guard gi.shape == input.shape else {
                    throw TensorError.shapeMismatch(op: r.op, shapes: [input.shape, gi.shape], reason: "internal: gradient shape differs from its input")
                }
                input.accumulate(gi)
            }
        }
    }
}
