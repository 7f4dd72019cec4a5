// A model's state dict as safetensors (PyTorch names; num_batches_tracked as a 0-dim I64), and
// loading it back with every name and shape checked before anything is changed.
import Foundation
import Tensor

extension ParameterRegistry {
    /// The state dict as safetensors tensors (F32 values, I64 num_batches_tracked).
    public func stateDict() -> SafetensorsFile {
        var file = SafetensorsFile()
        for (name, entry) in entries {
            switch entry {
            case .parameter(let v): file[name] = SafetensorsTensor(floats: v.value.storage, shape: v.shape)
            case .runningMean(let s): file[name] = SafetensorsTensor(floats: s.runningMean.storage, shape: s.runningMean.shape)
            case .runningVar(let s): file[name] = SafetensorsTensor(floats: s.runningVar.storage, shape: s.runningVar.shape)
            case .numBatchesTracked(let s): file[name] = SafetensorsTensor(int64s: [s.numBatchesTracked], shape: [])
            }
        }
        return file
    }

    /// Loads a state dict (strict, like load_state_dict(strict=True)): the names must be exactly
    /// the model's and every shape must match; otherwise nothing is changed and the error lists
    /// the missing, unexpected and mis-shaped names. F16/BF16/F64 values are converted to F32.
    /// `prefix` selects entries whose names start with it (e.g. "state." in a golden file).
    public func loadStateDict(_ file: SafetensorsFile, prefix: String = "") throws {
        var available = [String: SafetensorsTensor]()
        for (k, t) in file.tensors where k.hasPrefix(prefix) { available[String(k.dropFirst(prefix.count))] = t }
        let expected = Set(stateNames)
        let missing = expected.subtracting(available.keys).sorted()
        let unexpected = Set(available.keys).subtracting(expected).sorted()
        var misShaped = [String]()
        for (name, entry) in entries {
            guard let t = available[name] else { continue }
            // PyTorch writes num_batches_tracked as shape []; accept [1] too.
            let ok: Bool
            if case .numBatchesTracked = entry { ok = t.count == 1 } else { ok = t.shape == entry.shape }
            if !ok { misShaped.append("\(name): file \(t.shape), model \(entry.shape)") }
        }
        guard missing.isEmpty, unexpected.isEmpty, misShaped.isEmpty else {
            var parts = [String]()
            if !missing.isEmpty { parts.append("missing \(missing.prefix(8).joined(separator: ", "))\(missing.count > 8 ? " … (\(missing.count))" : "")") }
            if !unexpected.isEmpty { parts.append("unexpected \(unexpected.prefix(8).joined(separator: ", "))\(unexpected.count > 8 ? " … (\(unexpected.count))" : "")") }
            if !misShaped.isEmpty { parts.append("shape mismatch \(misShaped.prefix(8).joined(separator: "; "))") }
            throw ModelError.stateMismatch(parts.joined(separator: "; "))
        }
        for (name, entry) in entries {
            let t = available[name]!
            switch entry {
            case .parameter(let v): v.value = try Tensor(shape: v.shape, storage: t.floats())
            case .runningMean(let s): s.runningMean = try Tensor(shape: s.runningMean.shape, storage: t.floats())
            case .runningVar(let s): s.runningVar = try Tensor(shape: s.runningVar.shape, storage: t.floats())
            case .numBatchesTracked(let s): s.numBatchesTracked = t.int64s()[0]
            }
        }
    }
}
