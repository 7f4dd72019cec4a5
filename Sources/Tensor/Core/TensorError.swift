/// Every failure of the engine that bad input can cause. Each case names the operation (or layer)
/// and the shapes involved, so a message such as
/// `conv3d: shape mismatch [2, 3, 8, 8, 8] vs weight [4, 2, 3, 3, 3]: input channels 3 ≠ weight input channels 2`
/// tells the user where and why. Kernels throw these instead of trapping.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// Shapes that do not fit together (`shapes` in the order the operation takes its operands).
    case shapeMismatch(op: String, shapes: [[Int]], reason: String)
    /// An argument outside its domain (negative stride, p ∉ [0, 1], …).
    case invalidArgument(op: String, reason: String)
    /// NaN or ±Inf where finite values are required (`what` says which tensor: "input", "loss", "gradient of weight", …).
    case nonFinite(op: String, what: String, shape: [Int])

    public var description: String {
        switch self {
        case let .shapeMismatch(op, shapes, reason):
            return "\(op): shape mismatch \(shapes.map { "\($0)" }.joined(separator: " vs ")): \(reason)"
        case let .invalidArgument(op, reason):
            return "\(op): invalid argument: \(reason)"
        case let .nonFinite(op, what, shape):
            return "\(op): non-finite values (NaN or Inf) in \(what) of shape \(shape)"
        }
    }
}
