import Foundation
import Store

/// Which step directories and name entries exist in a store directory, read with two
/// directory listings, so planning thousands of steps asks the store only about those that
/// exist instead of failing to open thousands of files. Only for stores whose layout is known
/// (`StoreSnapshot`, `RunnerStore`); for any other `StoreReader` every question goes through.
struct StorePresence {
    private let layout: StoreLayout?
    private let stepKeys: Set<String>?
    private var nameFiles: [String: Set<String>] = [:]

    init(_ store: some StoreReader) {
        let layout = (store as? StoreSnapshot)?.layout ?? (store as? RunnerStore)?.layout
        self.layout = layout
        if let layout { stepKeys = StorePresence.list(layout.steps.path) } else { stepKeys = nil }
    }

    /// False only when the step's directory is certainly absent.
    func mayHaveStep(_ key: String) -> Bool {
        guard let stepKeys else { return true }
        return stepKeys.contains(key)
    }

    /// False only when the name's index entry is certainly absent.
    mutating func mayHaveName(experiment: String, name: String) -> Bool {
        guard let layout else { return true }
        let url = layout.nameEntry(experiment: experiment, name: name)
        let dir = url.deletingLastPathComponent().path
        if nameFiles[dir] == nil { nameFiles[dir] = StorePresence.list(dir) ?? [] }
        guard let files = nameFiles[dir] else { return true }
        return files.contains(url.lastPathComponent)
    }

    /// Entries of a directory; an absent directory is empty; nil when it cannot be listed
    /// (then nothing is ruled out).
    private static func list(_ path: String) -> Set<String>? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue, let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return nil }
        return Set(names)
    }
}
