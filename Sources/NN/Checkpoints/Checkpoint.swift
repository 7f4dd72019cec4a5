// Training checkpoints: a directory with
//   model.safetensors      the state dict only (PyTorch names), so PyTorch loads it with
//                          load_state_dict(strict=True); metadata holds the model config JSON
//   optimizer.safetensors  the optimizer state (per-parameter moments / momentum buffers)
//   ema.safetensors        the EMA shadow weights, when EMA is on
//   training.json          the LR scheduler state plus the caller's own JSON (epoch, RNG, history…)
// The directory is written next to its final name and renamed into place, so a reader never sees
// half a checkpoint and an interrupted save leaves the previous one intact.
import Foundation

public enum CheckpointError: Error, CustomStringConvertible {
    case io(path: String, reason: String)
    case missing(path: String)
    case configMismatch(saved: String, model: String)

    public var description: String {
        switch self {
        case .io(let p, let r): return "checkpoint \(p): \(r)"
        case .missing(let p): return "checkpoint \(p): missing"
        case .configMismatch(let s, let m): return "checkpoint model config \(s) differs from the model's \(m)"
        }
    }
}

public struct TrainingCheckpointState: Codable, Equatable {
    public var scheduler: LRScheduler
    /// Caller-defined (epoch, step, RNG state, history, …) as JSON bytes.
    public var extra: Data

    public init(scheduler: LRScheduler, extra: Data = Data("{}".utf8)) {
        self.scheduler = scheduler
        self.extra = extra
    }
}

public enum Checkpoint {
    /// The model's state dict with its config in the metadata.
    public static func modelFile(_ model: Stage1Model) throws -> SafetensorsFile {
        var file = model.registry.stateDict()
        file.metadata["stage1_config"] = String(decoding: try sortedJSON(model.config), as: UTF8.self)
        file.metadata["format"] = "pt"
        return file
    }

    /// Loads weights and buffers; checks the saved config (when present) and every name and shape.
    public static func loadModel(_ model: Stage1Model, from file: SafetensorsFile) throws {
        if let saved = file.metadata["stage1_config"] {
            let ours = String(decoding: try sortedJSON(model.config), as: UTF8.self)
            if let decoded = try? JSONDecoder().decode(Stage1Config.self, from: Data(saved.utf8)) {
                var a = decoded, b = model.config
                // run-time choices that do not change the weights
                a.gradientCheckpointing = false; b.gradientCheckpointing = false
                a.dropoutRate = 0; b.dropoutRate = 0
                if a != b { throw CheckpointError.configMismatch(saved: saved, model: ours) }
            }
        }
        try model.registry.loadStateDict(file)
    }

    public static func save(to directory: URL, model: Stage1Model, optimizer: Optimizer, state: TrainingCheckpointState,
                            ema: WeightEMA? = nil) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let tmp = parent.appendingPathComponent(".\(directory.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try? fm.removeItem(at: tmp)
            try fm.createDirectory(at: tmp, withIntermediateDirectories: true)
            try modelFile(model).write(to: tmp.appendingPathComponent("model.safetensors"))
            try optimizer.stateTensors().write(to: tmp.appendingPathComponent("optimizer.safetensors"))
            if let ema { try ema.stateTensors().write(to: tmp.appendingPathComponent("ema.safetensors")) }
            try sortedJSON(state).write(to: tmp.appendingPathComponent("training.json"), options: .atomic)
            if fm.fileExists(atPath: directory.path) {
                let old = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(ProcessInfo.processInfo.processIdentifier)")
                try? fm.removeItem(at: old)
                try fm.moveItem(at: directory, to: old)
                try fm.moveItem(at: tmp, to: directory)
                try? fm.removeItem(at: old)
            } else {
                try fm.moveItem(at: tmp, to: directory)
            }
        } catch let e as SafetensorsError {
            try? fm.removeItem(at: tmp)
            throw CheckpointError.io(path: directory.path, reason: e.description)
        } catch {
            try? fm.removeItem(at: tmp)
            throw CheckpointError.io(path: directory.path, reason: error.localizedDescription)
        }
    }

    /// Restores model, optimizer (and EMA) in place and returns the training state.
    public static func load(from directory: URL, model: Stage1Model, optimizer: Optimizer, ema: WeightEMA? = nil) throws -> TrainingCheckpointState {
        let fm = FileManager.default
        for name in ["model.safetensors", "optimizer.safetensors", "training.json"] {
            let p = directory.appendingPathComponent(name).path
            guard fm.fileExists(atPath: p) else { throw CheckpointError.missing(path: p) }
        }
        // parse everything before changing anything
        let modelState = try SafetensorsFile(contentsOf: directory.appendingPathComponent("model.safetensors"))
        let optimizerState = try SafetensorsFile(contentsOf: directory.appendingPathComponent("optimizer.safetensors"))
        let state: TrainingCheckpointState
        do {
            state = try JSONDecoder().decode(TrainingCheckpointState.self, from: Data(contentsOf: directory.appendingPathComponent("training.json")))
        } catch {
            throw CheckpointError.io(path: directory.appendingPathComponent("training.json").path, reason: "\(error)")
        }
        try loadModel(model, from: modelState)
        try optimizer.loadState(optimizerState)
        if let ema {
            let url = directory.appendingPathComponent("ema.safetensors")
            guard fm.fileExists(atPath: url.path) else { throw CheckpointError.missing(path: url.path) }
            ema.loadState(try SafetensorsFile(contentsOf: url))
        }
        return state
    }

    static func sortedJSON<T: Encodable>(_ value: T) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        return try enc.encode(value)
    }
}
