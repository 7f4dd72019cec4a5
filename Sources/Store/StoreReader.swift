import Foundation

/// What the planner may know about the store. Reading only: a planner given this
/// can never write a file.
public protocol StoreReader {
    /// A record with status `succeeded` exists for the key. An unreadable record counts as not cached.
    func isCached(_ key: String) -> Bool
    func record(_ key: String) throws -> StepRecord?
    func request(_ key: String) throws -> StepRequestRecord?
    /// The key last recorded under a step name within an experiment.
    func lastKey(experiment: String, name: String) throws -> String?
    func incompleteMarker(_ key: String) throws -> IncompleteMarker?
    /// Measured throughput of a step kind on every host that ran it, best-known first (most samples).
    func throughput(kind: String) throws -> [ThroughputRecord]
    func throughput(kind: String, host: String) throws -> ThroughputRecord?
    /// A digest of the store state a plan over `keys` depends on: which of them are cached.
    /// A saved plan whose fingerprint differs from the current one is stale.
    func fingerprint(of keys: [String]) -> String
}

/// A read-only view of a store directory. It creates nothing: a store that does
/// not exist yet reads as empty.
public struct StoreSnapshot: StoreReader, Sendable {
    public let layout: StoreLayout

    public init(root: URL) { layout = StoreLayout(root: root) }

    public var root: URL { layout.root }

    private struct StatusOnly: Decodable { var status: StepStatus }

    public func isCached(_ key: String) -> Bool {
        guard let path = try? layout.stepPath(key, "record.json"), let data = try? FileOps.readFile(path),
              let status = try? JSONDecoder().decode(StatusOnly.self, from: data) else { return false }
        return status.status == .succeeded
    }

    public func record(_ key: String) throws -> StepRecord? {
        let path = try layout.stepPath(key, "record.json")
        guard let record = try StoreJSON.read(StepRecord.self, atPath: path) else { return nil }
        guard record.key == key else { throw StoreError.unreadable(path: path, reason: "record is for key \(record.key)") }
        return record
    }

    public func request(_ key: String) throws -> StepRequestRecord? {
        try StoreJSON.read(StepRequestRecord.self, atPath: layout.stepPath(key, "request.json"))
    }

    public func lastKey(experiment: String, name: String) throws -> String? {
        try StoreJSON.read(NameIndexEntry.self, atPath: layout.nameEntryPath(experiment: experiment, name: name))?.key
    }

    public func incompleteMarker(_ key: String) throws -> IncompleteMarker? {
        try StoreJSON.read(IncompleteMarker.self, atPath: layout.stepPath(key, "incomplete.json"))
    }

    public func throughput(kind: String) throws -> [ThroughputRecord] {
        var out: [ThroughputRecord] = []
        for host in try FileOps.list(layout.throughput.path) where !FileOps.isTemporaryName(host) {
            let url = layout.throughput.appendingPathComponent(host, isDirectory: true).appendingPathComponent(StoreLayout.fileName(kind) + ".json", isDirectory: false)
            if let record = try StoreJSON.read(ThroughputRecord.self, at: url) { out.append(record) }
        }
        return out.sorted { ($0.samples, $1.host) > ($1.samples, $0.host) }
    }

    public func throughput(kind: String, host: String) throws -> ThroughputRecord? {
        try StoreJSON.read(ThroughputRecord.self, at: layout.throughputRecord(kind: kind, host: host))
    }

    public func fingerprint(of keys: [String]) -> String {
        let cached = Set(keys).filter(isCached).sorted()
        return Digest.sha256(cached.joined(separator: "\n"))
    }

    /// Keys of every step directory in the store.
    public func stepKeys() throws -> [String] {
        try FileOps.list(layout.steps.path).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Ids of every run with a directory under `runs/`.
    public func runIDs() throws -> [String] {
        try FileOps.list(layout.runs.path).filter { !$0.hasPrefix(".") }.sorted()
    }

    public func manifest(runID: String) throws -> Manifest? {
        try StoreJSON.read(Manifest.self, at: layout.manifest(runID))
    }

    /// The current holder of the apply lock, if any.
    public func lockHolder() throws -> LockInfo? {
        try StoreLock.readHolder(at: layout.lock)
    }
}
