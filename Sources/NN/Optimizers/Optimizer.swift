// Optimizers over flat Float32 buffers, keyed by parameter name (the state_dict name), so they
// work on any parameter storage and their state saves to safetensors under readable names.
// Scalars (lr, bias corrections) are computed in Double and applied in Float, as PyTorch does.
import Foundation

public enum OptimizerError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case sizeMismatch(parameter: String, parameterCount: Int, gradientCount: Int)
    case stateMismatch(parameter: String, expected: Int, got: Int)
    case nonFiniteGradient(parameter: String)
    case badState(String)

    public var description: String {
        switch self {
        case .invalid(let why): return "optimizer: \(why)"
        case .sizeMismatch(let p, let a, let b): return "optimizer: parameter '\(p)' has \(a) values but its gradient has \(b)"
        case .stateMismatch(let p, let a, let b): return "optimizer: state of '\(p)' has \(b) values, the parameter has \(a)"
        case .nonFiniteGradient(let p): return "optimizer: gradient of '\(p)' contains NaN or Inf"
        case .badState(let why): return "optimizer: bad saved state: \(why)"
        }
    }
}

/// One parameter handed to an optimizer step: its name, values (updated in place) and gradient.
public struct ParameterSlot {
    public let name: String
    public let value: UnsafeMutableBufferPointer<Float>
    public let gradient: UnsafeBufferPointer<Float>

    public init(name: String, value: UnsafeMutableBufferPointer<Float>, gradient: UnsafeBufferPointer<Float>) {
        self.name = name
        self.value = value
        self.gradient = gradient
    }
}

/// The hyperparameters that schedules change between steps.
public struct StepHyperparameters: Sendable {
    public var lr: Double
    public var weightDecay: Double
    /// Overrides SGD momentum / Adam beta1 for this step (one-cycle momentum cycling).
    public var momentum: Double?

    public init(lr: Double, weightDecay: Double, momentum: Double? = nil) {
        self.lr = lr
        self.weightDecay = weightDecay
        self.momentum = momentum
    }
}

public protocol Optimizer: AnyObject {
    /// One update of every parameter in `parameters`.
    func step(_ parameters: [ParameterSlot], _ hyper: StepHyperparameters) throws
    /// State as named tensors plus metadata (e.g. the step count), for checkpoints.
    func stateTensors() -> SafetensorsFile
    /// Restores what `stateTensors()` produced.
    func loadState(_ file: SafetensorsFile) throws
}

func checkSlot(_ slot: ParameterSlot) throws {
    guard slot.value.count == slot.gradient.count else {
        throw OptimizerError.sizeMismatch(parameter: slot.name, parameterCount: slot.value.count, gradientCount: slot.gradient.count)
    }
}
