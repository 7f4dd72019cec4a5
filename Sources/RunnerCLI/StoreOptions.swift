import ArgumentParser
import Foundation
import Store

/// `--store DIR`, shared by every command that touches a store.
public struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory.", valueName: "DIR"))
    public var store: String = ".runner"

    public init() {}

    /// The store directory as an absolute URL.
    public var url: URL {
        URL(fileURLWithPath: store, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
    }

    /// Opens the store (creating its directories when absent), as an invalid-input failure when that fails.
    func open() throws -> RunnerStore {
        do { return try RunnerStore(root: url) } catch {
            throw CLIFailure(.invalidInput, "cannot open the store at \(url.path): \(error)")
        }
    }

    /// Opens an existing store; a missing directory is invalid input (verify, gc, unlock, show).
    func openExisting() throws -> RunnerStore {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CLIFailure(.invalidInput, "no store at \(url.path) (run `runner apply` first, or pass --store DIR)")
        }
        return try open()
    }
}

/// The running runner executable, which every step process re-runs as `runner step KEY`.
enum RunnerExecutable {
    static var url: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    }
}

/// `RUNNER_VERSION` recorded in step records and manifests.
public enum RunnerVersion {
    public static let current = "0.1.0"
}
