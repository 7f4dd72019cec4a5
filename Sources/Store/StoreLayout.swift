import Foundation

/// Where everything lives under the store root. One place, so `verify`, `gc` and
/// the read-only snapshot agree with the writers.
public struct StoreLayout: Hashable, Sendable {
    public let root: URL
    /// The root as a path string: the hot read paths (a plan asks about thousands of
    /// steps) build paths as strings, which is ~10× cheaper than composing URLs.
    let rootPath: String

    public init(root: URL) {
        self.root = root.standardizedFileURL
        rootPath = self.root.path
    }

    public var objects: URL { root.appendingPathComponent("objects", isDirectory: true) }
    public var steps: URL { root.appendingPathComponent("steps", isDirectory: true) }
    public var names: URL { root.appendingPathComponent("names", isDirectory: true) }
    public var runs: URL { root.appendingPathComponent("runs", isDirectory: true) }
    public var throughput: URL { root.appendingPathComponent("throughput", isDirectory: true) }
    public var lock: URL { root.appendingPathComponent("lock", isDirectory: false) }

    public func stepDirectory(_ key: String) throws -> URL { URL(fileURLWithPath: try stepPath(key), isDirectory: true) }
    public func request(_ key: String) throws -> URL { URL(fileURLWithPath: try stepPath(key, "request.json"), isDirectory: false) }
    public func record(_ key: String) throws -> URL { URL(fileURLWithPath: try stepPath(key, "record.json"), isDirectory: false) }
    public func incomplete(_ key: String) throws -> URL { URL(fileURLWithPath: try stepPath(key, "incomplete.json"), isDirectory: false) }
    public func log(_ key: String) throws -> URL { URL(fileURLWithPath: try stepPath(key, "log.txt"), isDirectory: false) }
    public func scratch(_ key: String) throws -> URL { URL(fileURLWithPath: try stepPath(key, "scratch"), isDirectory: true) }

    /// `names/<experiment>/<step-name>.json`, with both names made safe as file names.
    public func nameEntry(experiment: String, name: String) -> URL {
        URL(fileURLWithPath: nameEntryPath(experiment: experiment, name: name), isDirectory: false)
    }

    public func throughputRecord(kind: String, host: String) -> URL {
        URL(fileURLWithPath: rootPath + "/throughput/" + StoreLayout.fileName(host) + "/" + StoreLayout.fileName(kind) + ".json",
            isDirectory: false)
    }

    public func runDirectory(_ runID: String) throws -> URL {
        try StoreLayout.checkKey(runID)
        return URL(fileURLWithPath: rootPath + "/runs/" + runID, isDirectory: true)
    }
    public func manifest(_ runID: String) throws -> URL {
        try StoreLayout.checkKey(runID)
        return URL(fileURLWithPath: rootPath + "/runs/" + runID + "/manifest.json", isDirectory: false)
    }

    /// `steps/<key>[/<file>]` as a path string.
    func stepPath(_ key: String, _ file: String? = nil) throws -> String {
        try StoreLayout.checkKey(key)
        let dir = rootPath + "/steps/" + key
        return file.map { dir + "/" + $0 } ?? dir
    }

    func nameEntryPath(experiment: String, name: String) -> String {
        rootPath + "/names/" + StoreLayout.fileName(experiment) + "/" + StoreLayout.fileName(name) + ".json"
    }

    /// A step key or run id must be usable as one directory name.
    static func checkKey(_ key: String) throws {
        guard !key.isEmpty, key.utf8.count <= 200, !key.hasPrefix("."), !key.contains("/"), !key.contains("\0") else {
            throw StoreError.invalidKey(key)
        }
    }

    /// A readable file name for any string: `%`, `/`, NUL and a leading `.` are
    /// percent-encoded; names too long for a file system keep a prefix plus a hash.
    static func fileName(_ text: String) -> String {
        var out = ""
        for (i, scalar) in text.unicodeScalars.enumerated() {
            switch scalar {
            case "%", "/", "\0": out += String(format: "%%%02X", scalar.value)
            case "." where i == 0: out += "%2E"
            default: out.unicodeScalars.append(scalar)
            }
        }
        if out.isEmpty { out = "%00" }
        if out.utf8.count > 180 {
            let prefix = String(decoding: Array(out.utf8.prefix(100)), as: UTF8.self)
            out = prefix + "-" + Digest.sha256(text).prefix(16)
        }
        return out
    }
}
