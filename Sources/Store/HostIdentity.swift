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

    /// What tells one process from a later one that got the same pid: the kernel's boot id
    /// and the process's start time (`/proc`). `nil` where `/proc` cannot tell (not Linux).
    /// A lock or marker records it so a pid recycled after a crash or a reboot does not
    /// keep a dead holder "alive".
    public static func processToken(_ pid: Int32) -> String? {
        guard pid > 0,
              let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8),
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)": state is field 3, starttime is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return boot.trimmingCharacters(in: .whitespacesAndNewlines) + ":" + fields[19]
    }

    /// Whether the process recorded as (`pid`, `token`) on this host is gone: its pid does not
    /// exist, or it exists but is another process (a different start time or boot).
    public static func isGone(pid: Int32, token: String?, isAlive: (Int32) -> Bool = isProcessAlive,
                              processToken: (Int32) -> String? = processToken) -> Bool {
        guard isAlive(pid) else { return true }
        guard let token, let current = processToken(pid) else { return false }
        return current != token
    }
}
