/// Dropout masks with inverted scaling: kept elements are multiplied by 1/(1 − p), so evaluation is
/// the identity. The mask is a pure function of (key, element index) — independent of threads,
/// and the same when a checkpointed block is recomputed.
public enum DropoutKernel {
    static func checkP(_ p: Float, op: String) throws {
        guard p >= 0 && p <= 1 && p.isFinite else { throw TensorError.invalidArgument(op: op, reason: "drop probability \(p) outside [0, 1]") }
    }

    /// Element dropout mask of `shape`: 0 with probability p, else 1/(1 − p).
    public static func elementMask(shape: [Int], p: Float, key: RandomKey) throws -> Tensor {
        try checkP(p, op: "dropout")
        let scale: Float = p < 1 ? 1 / (1 - p) : 0
        var m = Tensor(shape: shape)
        m.withUnsafeMutableBufferPointer { q in
            for i in 0..<q.count { q[i] = key.uniform(UInt64(i)) < p ? 0 : scale }
        }
        return m
    }

    /// Dropout3d mask: one draw per (sample, channel) of an [N, C, …] input, shape [N, C, 1, 1, 1…].
    public static func channelMask(shape: [Int], p: Float, key: RandomKey) throws -> Tensor {
        try checkP(p, op: "dropout3d")
        guard shape.count >= 3 else {
            throw TensorError.shapeMismatch(op: "dropout3d", shapes: [shape], reason: "input must be [N, C, spatial…]")
        }
        return try elementMask(shape: [shape[0], shape[1]] + [Int](repeating: 1, count: shape.count - 2), p: p, key: key)
    }
}
