import Foundation

/// What `runner gc` would remove (a dry run prints it) and what it frees.
public struct GCPlan: Codable, Hashable, Sendable {
    /// Step directories whose key no given experiment uses.
    public var steps: [String] = []
    /// Objects no live step's record references.
    public var objects: [String] = []
    /// Run directories whose manifest names a step that is removed.
    public var runs: [String] = []
    /// Names-index files pointing at removed steps.
    public var names: [String] = []
    /// Temporary files of writers that died on this host.
    public var temporaryFiles: [String] = []
    /// Bytes the removal frees.
    public var bytes: Int64 = 0

    public init() {}

    public var isEmpty: Bool { steps.isEmpty && objects.isEmpty && runs.isEmpty && names.isEmpty && temporaryFiles.isEmpty }
}

/// `runner gc`: keep what the given experiments reference, remove the rest.
public enum GarbageCollector {
    /// Computes what to remove when `liveKeys` are the step keys of every experiment to keep.
    /// Objects stay while any live record references them (outputs are shared, never copied).
    /// A step that cannot be judged (unreadable record of a live key) keeps nothing alive and loses nothing.
    public static func plan(_ store: RunnerStore, liveKeys: Set<String>, host: String = HostIdentity.current.name,
                            isAlive: (Int32) -> Bool = HostIdentity.isProcessAlive) throws -> GCPlan {
        var plan = GCPlan()
        var referenced = Set<String>()
        for key in try store.stepKeys() {
            if liveKeys.contains(key) {
                if let record = try? store.record(key) { referenced.formUnion(record.output.files.values) }
            } else {
                plan.steps.append(key)
                plan.bytes += FileOps.treeSize(try store.layout.stepDirectory(key).path)
            }
        }
        for digest in try store.objects.allDigests() where !referenced.contains(digest) {
            plan.objects.append(digest)
            plan.bytes += store.objects.size(of: digest) ?? 0
        }
        let removed = Set(plan.steps)
        for runID in try store.runIDs() {
            if let manifest = try? store.manifest(runID: runID), let key = manifest.stepKey, removed.contains(key) {
                plan.runs.append(runID)
                plan.bytes += FileOps.treeSize(try store.layout.runDirectory(runID).path)
            }
        }
        for (url, entry) in try store.nameEntries() {
            if let entry, !liveKeys.contains(entry.key) {
                plan.names.append(url.path)
                plan.bytes += FileOps.treeSize(url.path)
            }
        }
        for url in try store.temporaryFiles() {
            if let writer = FileOps.temporaryWriter(url.lastPathComponent), writer.name == host, !isAlive(writer.pid) {
                plan.temporaryFiles.append(url.path)
                plan.bytes += FileOps.treeSize(url.path)
            }
        }
        return plan
    }

    /// Removes what the plan lists; requires the apply lock. Returns the bytes freed.
    @discardableResult
    public static func run(_ store: RunnerStore, plan: GCPlan, lock: LockHandle) throws -> Int64 {
        try StoreVerifier.requireHeld(lock)
        var freed: Int64 = 0
        for key in plan.steps {
            freed += FileOps.treeSize(try store.layout.stepDirectory(key).path)
            try store.removeStep(key)
        }
        for digest in plan.objects {
            freed += store.objects.size(of: digest) ?? 0
            try store.objects.remove(digest)
        }
        for runID in plan.runs {
            freed += FileOps.treeSize(try store.layout.runDirectory(runID).path)
            try store.removeRun(runID)
        }
        for path in plan.names + plan.temporaryFiles {
            freed += FileOps.treeSize(path)
            try FileOps.removeFile(path)
        }
        return freed
    }
}
