/// A value in a computation, with the gradient accumulated into it by `Tape.backward`.
///
/// Leaves (parameters, inputs) are made with `Variable(_:requiresGrad:)`; their `grad` adds up
/// over backward passes until `zeroGrad()` — gradient accumulation needs nothing else. Results of
/// operations are non-leaves: their gradient lives only while the backward pass needs it.
public final class Variable {
    public var value: Tensor
    public var grad: Tensor?
    public let requiresGrad: Bool
    public let isLeaf: Bool
    /// Optional label used in error messages (e.g. the parameter name).
    public var name: String?

    public init(_ value: Tensor, requiresGrad: Bool = false, name: String? = nil) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.isLeaf = true
        self.name = name
    }

    init(result value: Tensor, requiresGrad: Bool) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.isLeaf = false
    }

    public var shape: [Int] { value.shape }

    public func zeroGrad() { grad = nil }

    /// Adds `g` into `grad` (allocating it on first use).
    func accumulate(_ g: Tensor) {
        if grad == nil {
            grad = g
        } else {
            grad!.withUnsafeMutableBufferPointer { d in
                g.withUnsafeBufferPointer { s in
                    for i in 0..<d.count { d[i] += s[i] }
                }
            }
        }
    }
}

/// What an operation needs besides its operands: where to record (nil = evaluation, no graph and no
/// saved activations), training or evaluation behaviour (BatchNorm, dropout), thread count and
/// convolution precision. Passed explicitly to every operation — the engine has no global state.
public struct ComputeContext {
    public var tape: Tape?
    public var training: Bool
    public var threads: Int
    public var precision: Precision
    /// True while a checkpointed block is recomputed in backward: BatchNorm then leaves its running
    /// statistics alone (they were updated by the first forward).
    public internal(set) var isRecomputing: Bool = false

    public init(tape: Tape? = nil, training: Bool = false, threads: Int = 1, precision: Precision = .fp32) {
        self.tape = tape
        self.training = training
        self.threads = max(1, threads)
        self.precision = precision
    }

    /// Evaluation: no tape, eval-mode layers.
    public static func evaluation(threads: Int = 1, precision: Precision = .fp32) -> ComputeContext {
        ComputeContext(tape: nil, training: false, threads: threads, precision: precision)
    }

    /// Training on `tape`.
    public static func training(_ tape: Tape, threads: Int = 1, precision: Precision = .fp32) -> ComputeContext {
        ComputeContext(tape: tape, training: true, threads: threads, precision: precision)
    }
}
