// Named parameters and buffers, with PyTorch state_dict() names.
//
// Layers are built through a `ParameterScope`: `scope.child("layer1").child("0")` prefixes names
// the way nested nn.Module attributes do, so a BatchNorm made in scope "encoder.initial_conv.1"
// owns `encoder.initial_conv.1.weight`, `.bias`, `.running_mean`, `.running_var` and
// `.num_batches_tracked`. The registry keeps registration order (= PyTorch's order).
import Foundation
import Tensor

/// One entry of a model's state dict.
public enum StateEntry {
    case parameter(Variable)
    case runningMean(BatchNormState)
    case runningVar(BatchNormState)
    case numBatchesTracked(BatchNormState)

    /// Shape as PyTorch reports it (num_batches_tracked is a 0-dim int64 tensor).
    public var shape: [Int] {
        switch self {
        case .parameter(let v): return v.shape
        case .runningMean(let s): return s.runningMean.shape
        case .runningVar(let s): return s.runningVar.shape
        case .numBatchesTracked: return []
        }
    }
}

/// All named parameters and buffers of a model, in registration order.
public final class ParameterRegistry {
    public private(set) var entries: [(name: String, entry: StateEntry)] = []
    private var names = Set<String>()

    public init() {}

    func add(_ name: String, _ entry: StateEntry) {
        precondition(!names.contains(name), "duplicate state_dict name \(name)")  // a bug in model construction, not input
        names.insert(name)
        entries.append((name, entry))
    }

    /// Trainable parameters (PyTorch's named_parameters()).
    public var parameters: [(name: String, variable: Variable)] {
        entries.compactMap { e in
            if case .parameter(let v) = e.entry { return (e.name, v) }
            return nil
        }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.variable.value.count } }

    public var stateNames: [String] { entries.map(\.name) }
}

/// A name prefix plus the registry and a random key for initialisation.
public struct ParameterScope {
    public let registry: ParameterRegistry
    public let prefix: String
    let key: RandomKey

    public init(registry: ParameterRegistry, prefix: String = "", key: RandomKey) {
        self.registry = registry
        self.prefix = prefix
        self.key = key
    }

    public func child(_ name: String) -> ParameterScope {
        ParameterScope(registry: registry, prefix: qualified(name), key: key)
    }

    func qualified(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    /// Registers a trainable parameter. Its init stream is derived from its full name, so values
    /// do not depend on construction order.
    func parameter(_ name: String, _ value: Tensor) -> Variable {
        let full = qualified(name)
        let v = Variable(value, requiresGrad: true, name: full)
        registry.add(full, .parameter(v))
        return v
    }

    func initKey(_ name: String) -> RandomKey {
        // FNV-1a of the full name
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in qualified(name).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return key.derived(h)
    }

    /// xavier_uniform_: U(−a, a), a = √(6 / (fan_in + fan_out)), fans as PyTorch computes them
    /// (dim 1 × receptive field, dim 0 × receptive field).
    func xavierUniform(_ name: String, shape: [Int]) -> Variable {
        let receptive = shape.dropFirst(2).reduce(1, *)
        let fanIn = shape[1] * receptive, fanOut = shape[0] * receptive
        let a = Float((6.0 / Double(fanIn + fanOut)).squareRoot())
        return parameter(name, Tensor.uniform(shape: shape, low: -a, high: a, key: initKey(name)))
    }

    func zeros(_ name: String, count: Int) -> Variable { parameter(name, Tensor(shape: [count])) }

    func ones(_ name: String, count: Int) -> Variable { parameter(name, Tensor(shape: [count], repeating: 1)) }

    func batchNormBuffers(channels: Int) -> BatchNormState {
        let s = BatchNormState(channels: channels)
        registry.add(qualified("running_mean"), .runningMean(s))
        registry.add(qualified("running_var"), .runningVar(s))
        registry.add(qualified("num_batches_tracked"), .numBatchesTracked(s))
        return s
    }
}
