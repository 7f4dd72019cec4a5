import Foundation

// Thin wrappers over the POSIX calls the store's durability guarantees rest on
// (open, write, fsync, rename, link, flock). Foundation's FileManager offers no
// fsync of a file or a directory, so these stay at the system-call level.

private func sysOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func sysRead(_ fd: Int32, _ buf: UnsafeMutableRawPointer, _ n: Int) -> Int { read(fd, buf, n) }
private func sysWrite(_ fd: Int32, _ buf: UnsafeRawPointer, _ n: Int) -> Int { write(fd, buf, n) }
private func sysClose(_ fd: Int32) { _ = close(fd) }

func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}

/// An open file descriptor owned by one value; `close()` releases it.
struct PosixFile {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) { self.fd = fd; self.path = path }

    init(openForReadingAt path: String) throws {
        let fd = sysOpen(path, O_RDONLY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open", reason: errnoText()) }
        self.fd = fd; self.path = path
    }

    /// Creates a new file; fails if it exists.
    init(creatingExclusivelyAt path: String, mode: mode_t = 0o644) throws {
        let fd = sysOpen(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "create", reason: errnoText()) }
        self.fd = fd; self.path = path
    }

    /// Opens a directory so it can be fsynced (making a rename or a new entry durable).
    init(directoryAt path: String) throws {
        let fd = sysOpen(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open directory", reason: errnoText()) }
        self.fd = fd; self.path = path
    }

    func close() { sysClose(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = sysWrite(fd, base, remaining)
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, operation: "write", reason: errnoText())
            }
            remaining -= n
            base += n
        }
    }

    func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Calls `body` with successive chunks of the file until its end.
    func readChunks(size: Int = 1 << 20, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = sysRead(fd, buffer, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, operation: "read", reason: errnoText())
            }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(start: buffer, count: n))
        }
    }

    func sync() throws {
        guard fsync(fd) == 0 else { throw StoreError.io(path: path, operation: "fsync", reason: errnoText()) }
    }
}

enum FileOps {
    /// fsync of a directory, so that entries created, renamed or removed in it survive a crash.
    static func syncDirectory(_ path: String) throws {
        let dir = try PosixFile(directoryAt: path)
        defer { dir.close() }
        // Some filesystems refuse fsync on directories (EINVAL); there is nothing more to do then.
        if fsync(dir.fd) != 0, errno != EINVAL {
            throw StoreError.io(path: path, operation: "fsync", reason: errnoText())
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Foundation.rename(from, to) == 0 else {
            throw StoreError.io(path: to, operation: "rename from \(from)", reason: errnoText())
        }
    }

    /// Removes a file; a file already gone is not an error.
    static func removeFile(_ path: String) throws {
        if unlink(path) != 0, errno != ENOENT {
            throw StoreError.io(path: path, operation: "remove", reason: errnoText())
        }
    }

    /// Creates a directory and its parents (fsyncing each parent whose entries changed).
    static func makeDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            if isDir.boolValue { return }
            throw StoreError.io(path: path, operation: "create directory", reason: "a file is in the way")
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path { try makeDirectory(parent) }
        if mkdir(path, 0o755) != 0, errno != EEXIST {
            throw StoreError.io(path: path, operation: "create directory", reason: errnoText())
        }
        if !parent.isEmpty { try syncDirectory(parent) }
    }

    /// A whole (small) file's bytes; `nil` when it does not exist.
    static func readFile(_ path: String) throws -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw StoreError.io(path: path, operation: "open", reason: errnoText())
        }
        let file = PosixFile(fd: fd, path: path)
        defer { file.close() }
        var data = Data()
        try file.readChunks(size: 64 << 10) { data.append(contentsOf: $0) }
        return data
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func fileSize(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Int64(st.st_size)
    }

    /// Entries of a directory (names only); an absent directory has none.
    static func list(_ path: String) throws -> [String] {
        guard exists(path) else { return [] }
        do { return try FileManager.default.contentsOfDirectory(atPath: path) }
        catch { throw StoreError.io(path: path, operation: "list", reason: "\(error.localizedDescription)") }
    }

    static func removeTree(_ path: String) throws {
        guard exists(path) else { return }
        do { try FileManager.default.removeItem(atPath: path) }
        catch { throw StoreError.io(path: path, operation: "remove", reason: "\(error.localizedDescription)") }
    }

    /// A temporary name unique across processes and hosts sharing the directory.
    /// Format: `.tmp-<pid>-<random>@<host>@<base>`, so `verify` can tell a writer that
    /// died on this host from one still running or running elsewhere.
    static func temporaryName(for base: String) -> String {
        let random = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(8).lowercased()
        return ".tmp-\(getpid())-\(random)@\(HostIdentity.current.name)@\(base)"
    }

    static func isTemporaryName(_ name: String) -> Bool { name.hasPrefix(".tmp-") }

    /// Host and pid of the writer of a temporary file, from its name.
    static func temporaryWriter(_ name: String) -> HostIdentity? {
        guard isTemporaryName(name) else { return nil }
        let parts = name.dropFirst(5).split(separator: "@", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, let pidText = parts[0].split(separator: "-").first, let pid = Int32(pidText) else { return nil }
        return HostIdentity(name: String(parts[1]), pid: pid)
    }

    /// Runs `body` holding an exclusive `flock` on `path` (created if absent). The
    /// kernel drops the lock when the process dies, so this never goes stale.
    static func withFileLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw StoreError.io(path: path, operation: "open", reason: errnoText()) }
        defer { _ = close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno != EINTR { throw StoreError.io(path: path, operation: "flock", reason: errnoText()) }
        }
        defer { _ = flock(fd, LOCK_UN) }
        return try body()
    }

    /// Total size of the regular files under a path.
    static func treeSize(_ path: String) -> Int64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if (st.st_mode & S_IFMT) != S_IFDIR { return Int64(st.st_size) }
        var total: Int64 = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            total += treeSize((path as NSString).appendingPathComponent(name))
        }
        return total
    }
}

/// Writes a small file atomically: the readers see either the old content or the
/// complete new content, never a prefix — temp file in the same directory, fsync,
/// rename over the target, fsync of the directory.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let writer = try AtomicFileWriter(destination: url)
        do {
            try writer.append(data)
            try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }
}

/// An atomic write done in pieces: nothing is visible at `destination` until
/// `commit()`; a process killed before that leaves only a `.tmp-*` file that
/// `verify --repair` and `gc` remove.
public final class AtomicFileWriter {
    public let destination: URL
    let temporaryPath: String
    private var file: PosixFile?

    public init(destination: URL) throws {
        self.destination = destination
        let dir = destination.deletingLastPathComponent().path
        try FileOps.makeDirectory(dir)
        temporaryPath = (dir as NSString).appendingPathComponent(FileOps.temporaryName(for: destination.lastPathComponent))
        file = try PosixFile(creatingExclusivelyAt: temporaryPath)
    }

    public func append(_ data: Data) throws {
        guard let file else { throw StoreError.io(path: temporaryPath, operation: "write", reason: "writer already finished") }
        try file.write(data)
    }

    public func commit() throws {
        guard let file else { throw StoreError.io(path: temporaryPath, operation: "commit", reason: "writer already finished") }
        self.file = nil
        defer { file.close() }
        try file.sync()
        try FileOps.rename(temporaryPath, destination.path)
        try FileOps.syncDirectory(destination.deletingLastPathComponent().path)
    }

    /// Drops the temporary file (after an error).
    public func abandon() {
        if let file { file.close() }
        file = nil
        try? FileOps.removeFile(temporaryPath)
    }

    deinit { if file != nil { abandon() } }
}
