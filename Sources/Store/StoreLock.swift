import Foundation

/// Who holds the apply lock: written into the `lock` file by the holder.
public struct LockInfo: Codable, Hashable, Sendable {
    /// Short id to name the lock in `runner unlock LOCK-ID`.
    public var id: String
    public var host: String
    public var pid: Int32
    public var started: Date
    /// The command line that took it (e.g. `runner apply experiments/x.yaml`).
    public var command: String

    public init(id: String, host: String, pid: Int32, started: Date, command: String) {
        self.id = id; self.host = host; self.pid = pid; self.started = StoreTime.normalized(started); self.command = command
    }

    /// "lock 3f2a9c1b7d4e: pid 4242 on node-7 since 2026-11-27T23:40:00.000Z (runner apply x.yaml)".
    public var summary: String {
        "lock \(id): pid \(pid) on \(host) since \(StoreJSON.formatDate(started)) (\(command))"
    }
}

/// How `acquire` behaves when the lock is held.
public enum LockWait: Hashable, Sendable {
    /// Fail at once with `StoreError.lockHeld`.
    case noWait
    /// Poll until the lock is free; with a timeout (seconds, measured on the injected clock) fail after it.
    case wait(timeout: TimeInterval?)
}

/// What `acquire` reports while it works, for the CLI to print.
public enum LockEvent: Hashable, Sendable {
    /// The lock is held; we wait for this holder (reported again when the holder changes).
    case waiting(for: LockInfo)
    /// The holder's process is gone on this host: its lock was removed and we retry.
    case tookOverStale(LockInfo)
}

/// The exclusive apply lock of a store (`<store>/lock`), so two `apply` never run
/// one step twice. The lock file appears complete or not at all: its JSON is
/// written to a temporary file that is then hard-linked to `lock` (`link` fails
/// when `lock` exists, atomically, also on NFS — stronger than O_CREAT|O_EXCL,
/// which would expose an empty file between create and write).
///
/// A lock is judged stale only on its own host, when its pid is gone; a lock of
/// another host (a cluster node sharing the store) is removed only by `unlock(id:)`.
public struct StoreLock {
    public let url: URL
    public var identity: HostIdentity
    /// Time source for `started` and for the wait timeout.
    public var clock: () -> Date
    /// How to wait between polls (injected so tests control time).
    public var sleep: (TimeInterval) -> Void
    public var isAlive: (Int32) -> Bool
    /// Longest interval between polls; polling starts at 10 ms and doubles up to it.
    public var maxPollInterval: TimeInterval

    public init(storeRoot: URL, identity: HostIdentity = .current, clock: @escaping () -> Date = Date.init,
                sleep: @escaping (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) },
                isAlive: @escaping (Int32) -> Bool = HostIdentity.isProcessAlive, maxPollInterval: TimeInterval = 0.5) {
        self.url = StoreLayout(root: storeRoot).lock
        self.identity = identity; self.clock = clock; self.sleep = sleep; self.isAlive = isAlive
        self.maxPollInterval = maxPollInterval
    }

    /// Takes the lock, waiting or not as `wait` says. The caller must `release()` the handle.
    public func acquire(command: String, wait: LockWait, onEvent: (LockEvent) -> Void = { _ in }) throws -> LockHandle {
        let id = StoreLock.makeID()
        let start = clock()
        var interval = min(0.01, maxPollInterval)
        var lastReported: String?
        while true {
            let info = LockInfo(id: id, host: identity.name, pid: identity.pid, started: clock(), command: command)
            if try create(info) { return LockHandle(info: info, url: url) }
            guard let holder = try StoreLock.readHolder(at: url) else { continue }   // released meanwhile: retry now
            if holder.host == identity.name, holder.pid != identity.pid, !isAlive(holder.pid) {
                if try removeIfStill(holder) { onEvent(.tookOverStale(holder)) }
                continue
            }
            let sameProcess = holder.host == identity.name && holder.pid == identity.pid
            switch wait {
            case .noWait:
                throw StoreError.lockHeld(holder)
            case .wait(let timeout):
                // Waiting for ourselves could never end.
                if sameProcess { throw StoreError.lockHeld(holder) }
                if let timeout, clock().timeIntervalSince(start) >= timeout { throw StoreError.lockHeld(holder) }
                if lastReported != holder.id {
                    onEvent(.waiting(for: holder))
                    lastReported = holder.id
                }
                sleep(interval)
                interval = min(interval * 2, maxPollInterval)
            }
        }
    }

    /// The current holder, if the store is locked.
    public func holder() throws -> LockInfo? { try StoreLock.readHolder(at: url) }

    /// Removes the lock with this id whoever holds it (`runner unlock LOCK-ID`), and returns who held it.
    @discardableResult
    public func unlock(id: String) throws -> LockInfo {
        try FileOps.withFileLock(guardPath) {
            guard let holder = try StoreLock.readHolder(at: url) else { throw StoreError.notLocked(path: url.path) }
            guard holder.id == id else { throw StoreError.lockIDMismatch(expected: id, holder: holder) }
            try FileOps.removeFile(url.path)
            try FileOps.syncDirectory(url.deletingLastPathComponent().path)
            return holder
        }
    }

    // MARK: Internals

    /// Serialises stale takeovers and unlocks on this host (`flock`, released by the kernel if we die),
    /// so two waiters that both saw the same stale lock cannot remove each other's new one.
    private var guardPath: String { url.path + ".guard" }

    private func removeIfStill(_ stale: LockInfo) throws -> Bool {
        try FileOps.withFileLock(guardPath) {
            guard let current = try StoreLock.readHolder(at: url), current.id == stale.id else { return false }
            try FileOps.removeFile(url.path)
            try FileOps.syncDirectory(url.deletingLastPathComponent().path)
            return true
        }
    }

    /// Creates the lock file complete with `info`; false when it already exists.
    private func create(_ info: LockInfo) throws -> Bool {
        let dir = url.deletingLastPathComponent().path
        try FileOps.makeDirectory(dir)
        let data = try StoreJSON.encode(info)
        let tmp = (dir as NSString).appendingPathComponent(FileOps.temporaryName(for: "lock"))
        let file = try PosixFile(creatingExclusivelyAt: tmp)
        defer { try? FileOps.removeFile(tmp) }
        do {
            try file.write(data)
            try file.sync()
            file.close()
        } catch {
            file.close()
            throw error
        }
        if link(tmp, url.path) == 0 {
            try FileOps.syncDirectory(dir)
            return true
        }
        let code = errno
        if code == EEXIST { return false }
        if code == EPERM || code == ENOTSUP || code == EOPNOTSUPP || code == EXDEV {
            return try createWithoutLink(info, data: data)
        }
        throw StoreError.io(path: url.path, operation: "create lock", reason: errnoText(code))
    }

    /// For file systems without hard links: exclusive create, then write.
    private func createWithoutLink(_ info: LockInfo, data: Data) throws -> Bool {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 {
            if errno == EEXIST { return false }
            throw StoreError.io(path: url.path, operation: "create lock", reason: errnoText())
        }
        let file = PosixFile(fd: fd, path: url.path)
        defer { file.close() }
        try file.write(data)
        try file.sync()
        try FileOps.syncDirectory(url.deletingLastPathComponent().path)
        return true
    }

    static func readHolder(at url: URL) throws -> LockInfo? {
        guard FileOps.exists(url.path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            if !FileOps.exists(url.path) { return nil }
            throw StoreError.lockUnreadable(path: url.path, reason: error.localizedDescription)
        }
        do { return try StoreJSON.decode(LockInfo.self, from: data) } catch {
            throw StoreError.lockUnreadable(path: url.path, reason: StoreJSON.describe(error))
        }
    }

    static func makeID() -> String {
        String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(12))
    }
}

/// A held apply lock. `release()` removes it; a process that dies holding it leaves
/// a lock that the next `acquire` on the same host takes over.
public final class LockHandle: @unchecked Sendable {
    public let info: LockInfo
    public let url: URL
    public private(set) var isReleased = false

    init(info: LockInfo, url: URL) { self.info = info; self.url = url }

    public func release() throws {
        guard !isReleased else { return }
        guard let holder = try StoreLock.readHolder(at: url) else { throw StoreError.notLocked(path: url.path) }
        guard holder.id == info.id else { throw StoreError.lockIDMismatch(expected: info.id, holder: holder) }
        try FileOps.removeFile(url.path)
        try FileOps.syncDirectory(url.deletingLastPathComponent().path)
        isReleased = true
    }
}
