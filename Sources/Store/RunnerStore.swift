import Foundation

/// The store at a directory (`.runner/` by default): objects, step requests,
/// incomplete markers, records, the names index, throughput, run manifests.
/// Every file it writes appears atomically. Reads go through `snapshot`.
public final class RunnerStore: StoreReader, @unchecked Sendable {
    public let layout: StoreLayout
    public let objects: ObjectStore
    public let snapshot: StoreSnapshot

    /// Opens the store at `root`, creating its directories when absent.
    public init(root: URL) throws {
        layout = StoreLayout(root: root)
        snapshot = StoreSnapshot(root: root)
        for dir in [layout.root, layout.steps, layout.names, layout.runs, layout.throughput] {
            try FileOps.makeDirectory(dir.path)
        }
        objects = try ObjectStore(root: layout.objects)
    }

    public var root: URL { layout.root }

    // MARK: Step lifecycle: request → incomplete → record → clear

    /// Written before the step runs (by the scheduler), read by `runner step KEY`.
    public func writeRequest(_ request: StepRequestRecord) throws {
        try StoreJSON.write(request, to: layout.request(request.key))
    }

    /// Written by the step process when it starts; present afterwards only if it crashed.
    @discardableResult
    public func markIncomplete(key: String, host: String, pid: Int32, started: Date) throws -> IncompleteMarker {
        let marker = IncompleteMarker(key: key, host: host, pid: pid, started: started)
        try StoreJSON.write(marker, to: layout.incomplete(key))
        return marker
    }

    /// The marker for this process on this host.
    @discardableResult
    public func markIncomplete(key: String, started: Date) throws -> IncompleteMarker {
        let me = HostIdentity.current
        return try markIncomplete(key: key, host: me.name, pid: me.pid, started: started)
    }

    /// Removes the incomplete marker (after `writeRecord`, or when repairing). Absent is fine.
    public func clearIncomplete(_ key: String) throws {
        let url = try layout.incomplete(key)
        guard FileOps.exists(url.path) else { return }
        try FileOps.removeFile(url.path)
        try FileOps.syncDirectory(url.deletingLastPathComponent().path)
    }

    /// Writes a step's record atomically. Every output object must already be in the
    /// store: a record never points at bytes that are not there.
    public func writeRecord(_ record: StepRecord) throws {
        for digest in record.output.files.values.sorted() where !objects.contains(digest) {
            throw StoreError.objectMissing(digest: digest, path: try objects.location(of: digest).path)
        }
        try StoreJSON.write(record, to: layout.record(record.key))
    }

    /// Removes a step's record, so the step counts as not run (verify --repair).
    public func removeRecord(_ key: String) throws {
        let url = try layout.record(key)
        guard FileOps.exists(url.path) else { return }
        try FileOps.removeFile(url.path)
        try FileOps.syncDirectory(url.deletingLastPathComponent().path)
    }

    /// Removes everything of a step: request, record, marker, log, scratch (gc).
    public func removeStep(_ key: String) throws {
        try FileOps.removeTree(layout.stepDirectory(key).path)
        try FileOps.syncDirectory(layout.steps.path)
    }

    /// The step's log file (its directory is created).
    public func logURL(_ key: String) throws -> URL {
        let url = try layout.log(key)
        try FileOps.makeDirectory(url.deletingLastPathComponent().path)
        return url
    }

    /// The step's scratch directory, kept across crashes (checkpoints); created when absent.
    public func scratchDirectory(_ key: String) throws -> URL {
        let url = try layout.scratch(key)
        try FileOps.makeDirectory(url.path)
        return url
    }

    /// Stores every regular file under `directory` as an object; returns relative path → digest.
    /// Symbolic links and other special files are refused (their content would not be what they point at later).
    public func storeFiles(in directory: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        try storeFiles(in: directory.standardizedFileURL.path, prefix: "", into: &out)
        return out
    }

    private func storeFiles(in dir: String, prefix: String, into out: inout [String: String]) throws {
        for name in try FileOps.list(dir).sorted() {
            let path = (dir as NSString).appendingPathComponent(name)
            let relative = prefix.isEmpty ? name : prefix + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { throw StoreError.io(path: path, operation: "stat", reason: errnoText()) }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: try storeFiles(in: path, prefix: relative, into: &out)
            case S_IFREG: out[relative] = try objects.put(fileAt: URL(fileURLWithPath: path))
            default: throw StoreError.io(path: path, operation: "store output", reason: "not a regular file or directory")
            }
        }
    }

    // MARK: Names index

    /// Records `key` as the last step run under `name` in `experiment`.
    public func recordName(experiment: String, name: String, key: String, at date: Date) throws {
        try StoreLayout.checkKey(key)
        let entry = NameIndexEntry(experiment: experiment, name: name, key: key, recorded: date)
        try StoreJSON.write(entry, to: layout.nameEntry(experiment: experiment, name: name))
    }

    /// Every entry of the names index.
    public func nameEntries() throws -> [(url: URL, entry: NameIndexEntry?)] {
        var out: [(URL, NameIndexEntry?)] = []
        for experiment in try FileOps.list(layout.names.path).sorted() where !FileOps.isTemporaryName(experiment) {
            let dir = layout.names.appendingPathComponent(experiment, isDirectory: true)
            for file in try FileOps.list(dir.path).sorted() where file.hasSuffix(".json") && !FileOps.isTemporaryName(file) {
                let url = dir.appendingPathComponent(file, isDirectory: false)
                out.append((url, try? StoreJSON.read(NameIndexEntry.self, at: url)))
            }
        }
        return out
    }

    // MARK: Throughput

    /// Adds a measurement (`seconds` for `units` units of work) to the running mean of
    /// a step kind on a host. Concurrent step processes serialise on a file lock.
    @discardableResult
    public func recordThroughput(kind: String, host: String, unit: String, seconds: Double, units: Double, at date: Date) throws -> ThroughputRecord {
        guard seconds.isFinite, seconds >= 0, units.isFinite, units > 0 else {
            throw StoreError.unreadable(path: layout.throughputRecord(kind: kind, host: host).path,
                                        reason: "a throughput measurement needs finite seconds ≥ 0 and units > 0 (got \(seconds) s for \(units) units)")
        }
        let url = layout.throughputRecord(kind: kind, host: host)
        try FileOps.makeDirectory(url.deletingLastPathComponent().path)
        return try FileOps.withFileLock(url.deletingLastPathComponent().appendingPathComponent(".lock", isDirectory: false).path) {
            var record = (try? StoreJSON.read(ThroughputRecord.self, at: url)) ?? nil
            if var r = record, r.unit == unit {
                let totalSeconds = r.secondsPerUnit * r.units + seconds
                r.units += units
                r.samples += 1
                r.secondsPerUnit = totalSeconds / r.units
                r.updated = StoreTime.normalized(date)
                record = r
            } else {
                // First measurement, or the unit changed (a new code version): start over.
                record = ThroughputRecord(kind: kind, host: host, unit: unit, secondsPerUnit: seconds / units,
                                          samples: 1, units: units, updated: date)
            }
            try StoreJSON.write(record!, to: url)
            return record!
        }
    }

    // MARK: Run manifests

    public func writeManifest(_ manifest: Manifest, runID: String) throws {
        try StoreJSON.write(manifest, to: layout.manifest(runID))
    }

    public func removeRun(_ runID: String) throws {
        try FileOps.removeTree(layout.runDirectory(runID).path)
    }

    // MARK: Lock

    /// The apply lock of this store, for this process.
    public func lock(identity: HostIdentity = .current) -> StoreLock {
        StoreLock(storeRoot: root, identity: identity)
    }

    // MARK: Reading (StoreReader)

    public func isCached(_ key: String) -> Bool { snapshot.isCached(key) }
    public func record(_ key: String) throws -> StepRecord? { try snapshot.record(key) }
    public func request(_ key: String) throws -> StepRequestRecord? { try snapshot.request(key) }
    public func lastKey(experiment: String, name: String) throws -> String? { try snapshot.lastKey(experiment: experiment, name: name) }
    public func incompleteMarker(_ key: String) throws -> IncompleteMarker? { try snapshot.incompleteMarker(key) }
    public func throughput(kind: String) throws -> [ThroughputRecord] { try snapshot.throughput(kind: kind) }
    public func throughput(kind: String, host: String) throws -> ThroughputRecord? { try snapshot.throughput(kind: kind, host: host) }
    public func fingerprint(of keys: [String]) -> String { snapshot.fingerprint(of: keys) }
    public func stepKeys() throws -> [String] { try snapshot.stepKeys() }
    public func runIDs() throws -> [String] { try snapshot.runIDs() }
    public func manifest(runID: String) throws -> Manifest? { try snapshot.manifest(runID: runID) }

    /// Temporary files of unfinished atomic writes anywhere in the store, with their writer.
    public func temporaryFiles() throws -> [URL] {
        var dirs = [layout.root, layout.steps, layout.names, layout.runs, layout.throughput, objects.temporaryDirectory]
        for key in try stepKeys() { dirs.append(layout.steps.appendingPathComponent(key, isDirectory: true)) }
        for sub in [layout.names, layout.runs, layout.throughput] {
            for name in try FileOps.list(sub.path) where !FileOps.isTemporaryName(name) { dirs.append(sub.appendingPathComponent(name, isDirectory: true)) }
        }
        var out: [URL] = []
        for dir in dirs {
            let all = dir == objects.temporaryDirectory
            for name in try FileOps.list(dir.path) where all || FileOps.isTemporaryName(name) {
                out.append(dir.appendingPathComponent(name, isDirectory: false))
            }
        }
        return out
    }
}
