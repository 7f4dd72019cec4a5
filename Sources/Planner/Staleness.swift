import Store

/// Why a saved plan no longer describes what applying it would do.
public enum StaleReason: Sendable, Hashable, CustomStringConvertible {
    /// A source file's bytes changed, or it is gone.
    case sourceChanged(path: String)
    /// The files the experiments are read from are not the same list (an `extends` changed).
    case sourcesDiffer(saved: [String], current: [String])
    /// A data directory's listing changed (files added, removed, resized or touched).
    case dataDirectoryChanged(dir: String)
    /// Steps of the plan were recorded, or names re-pointed, since the plan was made.
    case storeChanged
    /// Same files and store, other steps: the runner's code versions or key schema changed.
    case stepsDiffer

    public var description: String {
        switch self {
        case let .sourceChanged(path): return "\(path) changed since the plan was made"
        case let .sourcesDiffer(saved, current):
            return "the experiment is now read from \(current.joined(separator: ", ")) (the plan read \(saved.joined(separator: ", ")))"
        case let .dataDirectoryChanged(dir): return "data directory \(dir) changed since the plan was made"
        case .storeChanged: return "the store changed since the plan was made (steps of the plan were recorded or re-run)"
        case .stepsDiffer: return "this runner plans other steps for the same files (code versions changed)"
        }
    }
}

extension Plan {
    /// Every reason this saved plan is stale next to `current`, a plan made now from the same
    /// files and store; empty when the saved plan can be applied as it is.
    public func staleness(comparedWith current: Plan) -> [StaleReason] {
        var reasons: [StaleReason] = []
        let currentByPath = Dictionary(current.sources.map { ($0.path, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        for source in sources where currentByPath[source.path] != source.sha256 {
            reasons.append(.sourceChanged(path: source.path))
        }
        if reasons.isEmpty, sources.map(\.path) != current.sources.map(\.path) {
            reasons.append(.sourcesDiffer(saved: sources.map(\.path), current: current.sources.map(\.path)))
        }
        for (dir, fingerprint) in dataDirectories.sorted(by: { $0.key < $1.key }) where current.dataDirectories[dir] != fingerprint {
            reasons.append(.dataDirectoryChanged(dir: dir))
        }
        if storeFingerprint != current.storeFingerprint { reasons.append(.storeChanged) }
        if reasons.isEmpty, keySchema != current.keySchema || steps.map(\.key) != current.steps.map(\.key) {
            reasons.append(.stepsDiffer)
        }
        return reasons
    }

    /// Re-plans from `currentInputs` (read now from this plan's source paths) and `store`
    /// with this plan's core budget and host, and compares.
    public func staleness(currentInputs: PlanInputs, store: some StoreReader) throws -> [StaleReason] {
        staleness(comparedWith: try Planner.plan(currentInputs, store: store, cores: cores, host: host))
    }

    public func isStale(currentInputs: PlanInputs, store: some StoreReader) throws -> Bool {
        try !staleness(currentInputs: currentInputs, store: store).isEmpty
    }
}
