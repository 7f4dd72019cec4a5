import Foundation
import Store

extension DirectoryFingerprint {
    /// Lists `dir` recursively and hashes one line per regular file, `relative path \t size \t
    /// mtime (ns)`, sorted by path, so adding, removing, resizing or touching a file changes the
    /// fingerprint (and the ingest key) while moving the whole directory does not.
    /// `phantomFiles` counts the `.h5` files. Reads the file system; writes nothing.
    public static func read(dir: String) throws -> DirectoryFingerprint {
        let root = URL(fileURLWithPath: dir, isDirectory: true).standardizedFileURL
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw PlannerError.unreadableDirectory(dir: dir, reason: "no such directory")
        }
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw PlannerError.unreadableDirectory(dir: dir, reason: "cannot be listed")
        }
        var lines: [String] = [], phantoms = 0
        let prefix = root.path.hasSuffix("/") ? root.path : root.path + "/"
        for case let url as URL in walker {
            var info = stat()
            guard lstat(url.path, &info) == 0 else {
                throw PlannerError.unreadableDirectory(dir: dir, reason: "cannot stat \(url.path): \(String(cString: strerror(errno)))")
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else { continue }
            let relative = url.standardizedFileURL.path.hasPrefix(prefix) ? String(url.standardizedFileURL.path.dropFirst(prefix.count)) : url.lastPathComponent
            let mtime = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
            lines.append("\(relative)\t\(info.st_size)\t\(mtime)")
            if relative.hasSuffix(".h5") { phantoms += 1 }
        }
        lines.sort()
        return DirectoryFingerprint(sha256: Digest.sha256(lines.joined(separator: "\n")), phantomFiles: phantoms)
    }
}
