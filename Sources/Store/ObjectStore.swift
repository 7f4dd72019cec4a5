import Crypto
import Foundation

/// Content-addressed file storage: `objects/ab/cdef…` holds bytes whose SHA-256 is
/// `abcdef…`. Writes are atomic (temp file in `objects/tmp/`, fsync, rename,
/// fsync of the directory) and de-duplicated (an intact existing object is never
/// rewritten); reads check the hash, once per object per process. Objects are made read-only so a step cannot change an
/// input in place by accident.
public final class ObjectStore: @unchecked Sendable {
    public let root: URL
    private let verifiedLock = NSLock()
    private var verified = Set<String>()

    /// `root` is the `objects/` directory; it is created when absent.
    public init(root: URL) throws {
        self.root = root.standardizedFileURL
        try FileOps.makeDirectory(self.root.path)
    }

    /// Where temporary files of unfinished writes live (same filesystem as the objects).
    public var temporaryDirectory: URL { root.appendingPathComponent("tmp", isDirectory: true) }

    /// Stores a file's bytes (streamed, never loaded whole) and returns their digest.
    public func put(fileAt url: URL) throws -> String {
        let source = try PosixFile(openForReadingAt: url.path)
        defer { source.close() }
        let writer = try ObjectWriter(store: self)
        do {
            try source.readChunks { try writer.write($0) }
            return try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Stores bytes and returns their digest.
    public func put(data: Data) throws -> String {
        let digest = Digest.sha256(data)
        if let url = try? location(of: digest), FileOps.exists(url.path), isIntact(digest, at: url) { return digest }
        let writer = try ObjectWriter(store: self)
        do {
            try data.withUnsafeBytes { try writer.write($0) }
            return try writer.commit()
        } catch {
            writer.abandon()
            throw error
        }
    }

    /// Starts a streamed write; the object appears only when `commit()` returns its digest.
    public func makeWriter() throws -> ObjectWriter { try ObjectWriter(store: self) }

    /// Path of an object, without checking it exists.
    public func location(of digest: String) throws -> URL {
        guard Digest.isValid(digest) else { throw StoreError.invalidDigest(digest) }
        let prefix = String(digest.prefix(2))
        return root.appendingPathComponent(prefix, isDirectory: true).appendingPathComponent(String(digest.dropFirst(2)))
    }

    /// True when an object with this digest exists (its content is not checked).
    public func contains(_ digest: String) -> Bool {
        guard let url = try? location(of: digest) else { return false }
        return FileOps.exists(url.path)
    }

    /// Path of an object whose bytes were checked against its digest (once per process).
    public func path(of digest: String) throws -> URL {
        let url = try location(of: digest)
        guard FileOps.exists(url.path) else { throw StoreError.objectMissing(digest: digest, path: url.path) }
        if isVerified(digest) { return url }
        let actual = try Digest.sha256(fileAt: url)
        guard actual == digest else { throw StoreError.objectCorrupt(digest: digest, actual: actual, path: url.path) }
        markVerified(digest)
        return url
    }

    /// An object's bytes, checked against its digest.
    public func read(_ digest: String) throws -> Data {
        let url = try location(of: digest)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            if !FileOps.exists(url.path) { throw StoreError.objectMissing(digest: digest, path: url.path) }
            throw StoreError.io(path: url.path, operation: "read", reason: error.localizedDescription)
        }
        let actual = Digest.sha256(data)
        guard actual == digest else { throw StoreError.objectCorrupt(digest: digest, actual: actual, path: url.path) }
        markVerified(digest)
        return data
    }

    /// Re-hashes an object regardless of the per-process cache; `nil` when it is intact.
    public func check(_ digest: String) throws -> StoreError? {
        let url = try location(of: digest)
        guard FileOps.exists(url.path) else { return .objectMissing(digest: digest, path: url.path) }
        let actual = try Digest.sha256(fileAt: url)
        if actual != digest { forgetVerified(digest); return .objectCorrupt(digest: digest, actual: actual, path: url.path) }
        markVerified(digest)
        return nil
    }

    /// Size in bytes of a stored object, `nil` if absent.
    public func size(of digest: String) -> Int64? {
        guard let url = try? location(of: digest) else { return nil }
        return FileOps.fileSize(url.path)
    }

    /// Digests of every object present (temporary files and foreign names excluded).
    public func allDigests() throws -> [String] {
        var out: [String] = []
        for prefix in try FileOps.list(root.path).sorted() where prefix.utf8.count == 2 {
            for rest in try FileOps.list(root.appendingPathComponent(prefix, isDirectory: true).path) {
                let digest = prefix + rest
                if Digest.isValid(digest) { out.append(digest) }
            }
        }
        return out.sorted()
    }

    /// Files left in `objects/tmp/` by writers that were killed (or are still writing).
    public func temporaryFiles() throws -> [URL] {
        try FileOps.list(temporaryDirectory.path).sorted().map { temporaryDirectory.appendingPathComponent($0, isDirectory: false) }
    }

    /// Removes an object (verify --repair, gc). Absent is not an error.
    public func remove(_ digest: String) throws {
        let url = try location(of: digest)
        forgetVerified(digest)
        try FileOps.removeFile(url.path)
        try FileOps.syncDirectory(url.deletingLastPathComponent().path)
    }

    /// Whether an existing object can be kept when the same content is put again: it is
    /// if its bytes still hash to its name (checked once per process). A corrupt one is
    /// replaced by the new, correct bytes — putting content again heals it.
    func isIntact(_ digest: String, at url: URL) -> Bool {
        if isVerified(digest) { return true }
        guard let actual = try? Digest.sha256(fileAt: url), actual == digest else { return false }
        markVerified(digest)
        return true
    }

    func isVerified(_ d: String) -> Bool { verifiedLock.lock(); defer { verifiedLock.unlock() }; return verified.contains(d) }
    func markVerified(_ d: String) { verifiedLock.lock(); verified.insert(d); verifiedLock.unlock() }
    func forgetVerified(_ d: String) { verifiedLock.lock(); verified.remove(d); verifiedLock.unlock() }
}

/// A streamed object write: bytes go to a temporary file while they are hashed;
/// `commit()` fsyncs it and renames it to its content address. Until then nothing
/// is visible under `objects/ab/…`, so a writer killed mid-way leaves no object.
public final class ObjectWriter {
    private let store: ObjectStore
    private let temporaryPath: String
    private var file: PosixFile?
    private var hasher = SHA256()
    public private(set) var bytesWritten: Int64 = 0

    init(store: ObjectStore) throws {
        self.store = store
        try FileOps.makeDirectory(store.temporaryDirectory.path)
        temporaryPath = store.temporaryDirectory.appendingPathComponent(FileOps.temporaryName(for: "object"), isDirectory: false).path
        file = try PosixFile(creatingExclusivelyAt: temporaryPath, mode: 0o644)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard let file else { throw StoreError.io(path: temporaryPath, operation: "write", reason: "writer already finished") }
        hasher.update(bufferPointer: bytes)
        try file.write(bytes)
        bytesWritten += Int64(bytes.count)
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Makes the object visible and returns its digest. An object with the same
    /// digest already present is kept as it is (not rewritten).
    public func commit() throws -> String {
        guard let file else { throw StoreError.io(path: temporaryPath, operation: "commit", reason: "writer already finished") }
        self.file = nil
        let digest = Digest.hex(hasher.finalize())
        let destination = try store.location(of: digest)
        if FileOps.exists(destination.path), store.isIntact(digest, at: destination) {
            file.close()
            try FileOps.removeFile(temporaryPath)
            return digest
        }
        do { try file.sync() } catch {
            file.close()
            try? FileOps.removeFile(temporaryPath)
            throw error
        }
        file.close()
        do {
            _ = chmod(temporaryPath, 0o444)
            let dir = destination.deletingLastPathComponent().path
            try FileOps.makeDirectory(dir)
            try FileOps.rename(temporaryPath, destination.path)
            try FileOps.syncDirectory(dir)
        } catch {
            try? FileOps.removeFile(temporaryPath)
            throw error
        }
        store.markVerified(digest)
        return digest
    }

    /// Drops the temporary file.
    public func abandon() {
        file?.close()
        file = nil
        try? FileOps.removeFile(temporaryPath)
    }

    deinit { if file != nil { abandon() } }
}
