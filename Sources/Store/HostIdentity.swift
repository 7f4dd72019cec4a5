import Foundation

/// Who this process is, as recorded in locks, incomplete markers and step records.
/// The host name is what decides whether a dead pid can be judged here: only the
/// host that ran a process can tell that it is gone.
public struct HostIdentity: Codable, Hashable, Sendable {
    public var name: String
    public var pid: Int32

    public init(name: String, pid: Int32) { self.name = name; self.pid = pid }

    /// This process on this host (`gethostname`, `getpid`).
    public static var current: HostIdentity {
        var buffer = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buffer, buffer.count) == 0
            ? String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "unknown-host"
        return HostIdentity(name: name, pid: getpid())
    }

    /// True when a process with this pid exists on this host (signal 0 probes without sending).
    public static func isProcessAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
