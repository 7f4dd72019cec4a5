import Foundation

/// What `runner verify` found. Paths are absolute.
public struct VerifyReport: Codable, Hashable, Sendable {
    public struct CorruptObject: Codable, Hashable, Sendable {
        public var digest: String
        public var actual: String
        public var path: String
    }
    public struct MissingObject: Codable, Hashable, Sendable {
        public var digest: String
        /// The step whose record references it, and the file name in its output.
        public var key: String
        public var file: String
    }
    public struct UnreadableRecord: Codable, Hashable, Sendable {
        public var key: String
        public var path: String
        public var reason: String
    }
    public struct TemporaryFile: Codable, Hashable, Sendable {
        public var path: String
        /// True when its writer ran on this host and is gone.
        public var stale: Bool
    }

    public var objectsChecked: Int = 0
    public var recordsChecked: Int = 0
    public var corruptObjects: [CorruptObject] = []
    public var missingObjects: [MissingObject] = []
    public var unreadableRecords: [UnreadableRecord] = []
    /// Keys whose records reference a missing or corrupt object: they must be re-made.
    public var brokenRecords: [String] = []
    /// Incomplete markers whose process is gone (judged on this host).
    public var staleIncomplete: [IncompleteMarker] = []
    /// Incomplete markers written on other hosts: cannot be judged here, reported only.
    public var otherHostIncomplete: [IncompleteMarker] = []
    public var temporaryFiles: [TemporaryFile] = []

    public init() {}

    /// No corruption, nothing missing, nothing unreadable, no stale markers or temporary files.
    public var isClean: Bool {
        corruptObjects.isEmpty && missingObjects.isEmpty && unreadableRecords.isEmpty && brokenRecords.isEmpty
            && staleIncomplete.isEmpty && temporaryFiles.allSatisfy { !$0.stale }
    }
}

/// What `repair` removed.
public struct RepairResult: Codable, Hashable, Sendable {
    public var removedObjects: [String] = []
    public var removedRecords: [String] = []
    public var removedMarkers: [String] = []
    public var removedTemporaryFiles: [String] = []
    public var bytesFreed: Int64 = 0

    public init() {}
}

/// `runner verify`: re-hash every object, check every record's references and
/// markers; `repair` removes what is broken so the next apply re-makes it.
public enum StoreVerifier {
    /// Reads the whole store (every object is hashed again, ignoring the per-process cache).
    public static func verify(_ store: RunnerStore, host: String = HostIdentity.current.name,
                              isAlive: (Int32) -> Bool = HostIdentity.isProcessAlive) throws -> VerifyReport {
        var report = VerifyReport()
        var corrupt = Set<String>()
        for digest in try store.objects.allDigests() {
            report.objectsChecked += 1
            if case .objectCorrupt(let d, let actual, let path)? = try store.objects.check(digest) {
                report.corruptObjects.append(.init(digest: d, actual: actual, path: path))
                corrupt.insert(d)
            }
        }
        for key in try store.stepKeys() {
            let recordURL = try store.layout.record(key)
            if FileOps.exists(recordURL.path) {
                report.recordsChecked += 1
                do {
                    if let record = try store.record(key) {
                        var broken = false
                        for (file, digest) in record.output.files.sorted(by: { $0.key < $1.key }) {
                            if !Digest.isValid(digest) {
                                report.unreadableRecords.append(.init(key: key, path: recordURL.path,
                                                                      reason: "output file '\(file)' has invalid digest '\(digest)'"))
                                broken = true
                            } else if corrupt.contains(digest) {
                                broken = true
                            } else if !store.objects.contains(digest) {
                                report.missingObjects.append(.init(digest: digest, key: key, file: file))
                                broken = true
                            }
                        }
                        if broken { report.brokenRecords.append(key) }
                    }
                } catch let error as StoreError {
                    if case .unreadable(let path, let reason) = error {
                        report.unreadableRecords.append(.init(key: key, path: path, reason: reason))
                    } else { throw error }
                }
            }
            let markerURL = try store.layout.incomplete(key)
            if FileOps.exists(markerURL.path) {
                let marker: IncompleteMarker
                do {
                    guard let m = try store.incompleteMarker(key) else { continue }
                    marker = m
                } catch {
                    // An unreadable marker still means "this step did not finish"; it cannot be judged, so it is stale
                    // only in the sense that its writer is unknown: report it for removal.
                    report.staleIncomplete.append(IncompleteMarker(key: key, host: host, pid: 0, started: Date(timeIntervalSince1970: 0)))
                    continue
                }
                if marker.host != host { report.otherHostIncomplete.append(marker) }
                else if marker.isStale(on: host, isAlive: isAlive) { report.staleIncomplete.append(marker) }
            }
        }
        report.brokenRecords = Array(Set(report.brokenRecords)).sorted()
        for url in try store.temporaryFiles() {
            let writer = FileOps.temporaryWriter(url.lastPathComponent)
            let stale = writer.map { $0.name == host && !isAlive($0.pid) } ?? false
            report.temporaryFiles.append(.init(path: url.path, stale: stale))
        }
        return report
    }

    /// Removes corrupt objects, records that reference missing or corrupt objects (or
    /// cannot be read), stale incomplete markers and stale temporary files. Requires
    /// the apply lock, so no step is writing meanwhile.
    public static func repair(_ store: RunnerStore, report: VerifyReport, lock: LockHandle) throws -> RepairResult {
        try requireHeld(lock)
        var result = RepairResult()
        for object in report.corruptObjects {
            result.bytesFreed += store.objects.size(of: object.digest) ?? 0
            try store.objects.remove(object.digest)
            result.removedObjects.append(object.digest)
        }
        for key in Set(report.brokenRecords).union(report.unreadableRecords.map(\.key)).sorted() {
            try store.removeRecord(key)
            result.removedRecords.append(key)
        }
        for marker in report.staleIncomplete {
            try store.clearIncomplete(marker.key)
            result.removedMarkers.append(marker.key)
        }
        for file in report.temporaryFiles where file.stale {
            result.bytesFreed += FileOps.treeSize(file.path)
            try FileOps.removeFile(file.path)
            result.removedTemporaryFiles.append(file.path)
        }
        return result
    }

    static func requireHeld(_ lock: LockHandle) throws {
        guard let holder = try StoreLock.readHolder(at: lock.url) else { throw StoreError.notLocked(path: lock.url.path) }
        guard holder.id == lock.info.id, !lock.isReleased else { throw StoreError.lockIDMismatch(expected: lock.info.id, holder: holder) }
    }
}
