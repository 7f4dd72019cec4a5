import Foundation

/// Everything that can go wrong in the store, with the path and the reason, so the
/// CLI can print one clear line. The store never prints and never traps on bad input.
public enum StoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A digest that is not 64 lowercase hex characters.
    case invalidDigest(String)
    /// A step key that is not a usable directory name.
    case invalidKey(String)
    /// No object with this digest in the store.
    case objectMissing(digest: String, path: String)
    /// The object's bytes no longer hash to its name.
    case objectCorrupt(digest: String, actual: String, path: String)
    /// A system call failed.
    case io(path: String, operation: String, reason: String)
    /// A JSON file of the store could not be decoded.
    case unreadable(path: String, reason: String)
    /// The apply lock is held by someone else (`noWait`, or the wait timed out).
    case lockHeld(LockInfo)
    /// The lock file exists but is not a lock this runner wrote.
    case lockUnreadable(path: String, reason: String)
    /// `unlock(id:)` or a release found no lock.
    case notLocked(path: String)
    /// `unlock(id:)` or a release found a lock with another id.
    case lockIDMismatch(expected: String, holder: LockInfo)
    /// A content-addressed write changed under our feet (the source file changed while it was stored).
    case sourceChanged(path: String)

    public var description: String {
        switch self {
        case .invalidDigest(let d):
            return "invalid object digest '\(d)': expected 64 lowercase hexadecimal characters"
        case .invalidKey(let k):
            return "invalid step key '\(k)': expected a non-empty name without '/' or leading '.'"
        case .objectMissing(let d, let p):
            return "object \(d) is missing (\(p)); run `runner verify --repair` and apply again"
        case .objectCorrupt(let d, let a, let p):
            return "object \(d) is corrupt (\(p) hashes to \(a)); run `runner verify --repair` and apply again"
        case .io(let p, let op, let reason):
            return "\(p): \(op) failed: \(reason)"
        case .unreadable(let p, let reason):
            return "\(p): cannot read: \(reason)"
        case .lockHeld(let info):
            return "the store is locked by \(info.summary); wait for it, or if that process is gone on another host, run `runner unlock \(info.id)`"
        case .lockUnreadable(let p, let reason):
            return "\(p): lock file is not readable (\(reason)); remove it by hand if no runner is using the store"
        case .notLocked(let p):
            return "\(p): the store is not locked"
        case .lockIDMismatch(let expected, let holder):
            return "the lock is \(holder.id), not \(expected): held by \(holder.summary)"
        case .sourceChanged(let p):
            return "\(p) changed while it was being stored"
        }
    }
}
