import Foundation

/// What the running runner binary was built from, for manifests. SwiftPM cannot stamp a commit
/// into the binary at build time, so the commit is read when asked: `git rev-parse HEAD` in the
/// source directory the binary was compiled from (known through `#filePath`), when that directory
/// still exists and is a git checkout; otherwise "unknown". A checkout with uncommitted changes to
/// tracked files gets the suffix `-dirty`.
public enum BuildInfo {
    /// `debug` or `release`, from the compiler's configuration of this module.
    public static var configuration: String {
        #if DEBUG
        return "debug"
        #else
        return "release"
        #endif
    }

    /// The package root this file was compiled in (…/Sources/Steps/Training/BuildInfo.swift → …).
    public static var sourceRoot: URL {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url
    }

    /// The source commit, or "unknown" (no git, no checkout, the sources moved away).
    public static func commit(sourceRoot: URL = BuildInfo.sourceRoot) -> String {
        guard FileManager.default.fileExists(atPath: sourceRoot.appendingPathComponent("Package.swift").path),
              let head = git(["rev-parse", "HEAD"], in: sourceRoot)?.trimmingCharacters(in: .whitespacesAndNewlines),
              head.count == 40 else { return "unknown" }
        let status = git(["status", "--porcelain", "--untracked-files=no"], in: sourceRoot) ?? ""
        return status.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? head : head + "-dirty"
    }

    /// Output of `git ARGS` in `directory`, nil when git is absent or fails.
    static func git(_ arguments: [String], in directory: URL) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory.path] + arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
