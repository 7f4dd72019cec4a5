import Foundation
import Store
import Tensor

/// How `runner step KEY` ended.
public enum StepEntryOutcome: Equatable {
    /// The step ran and its record is in the store.
    case succeeded(StepRecord)
    /// A succeeded record of this key was already in the store; nothing ran.
    case alreadyDone
    /// The step failed; the message is for the user (a failed record holds it too).
    case failed(String)
    /// The step was asked to stop (SIGTERM/SIGINT) and did; no record, no marker, scratch kept.
    case stopped
}

/// The one entry point every step runs through, locally and under Slurm (`runner step KEY --store DIR`):
/// read the request, mark the step incomplete, build the context, run, store every output file as an
/// object, write the record atomically, clear the marker. A step killed on the way leaves only its
/// marker (and scratch), so it is never mistaken for a finished one.
public struct StepEntry {
    public var registry: StepRegistry
    public var identity: HostIdentity
    public var runnerVersion: String
    public var now: () -> Date
    /// Whether a pid is alive on this host (injected by tests).
    public var isAlive: (Int32) -> Bool = HostIdentity.isProcessAlive
    /// How long to wait for another live attempt of the same step on this host to end (an orphan of
    /// a killed apply ends itself within a fraction of a second).
    public var otherAttemptTimeout: TimeInterval = 10

    public init(registry: StepRegistry = .standard, identity: HostIdentity = .current,
                runnerVersion: String, now: @escaping () -> Date = Date.init) {
        self.registry = registry; self.identity = identity; self.runnerVersion = runnerVersion; self.now = now
    }

    /// Two processes must never run one step at once (they would share its output directory).
    /// A marker of a live process on this host means another attempt is still running: wait for
    /// it to end, then take over; a marker of a dead process is a crash and is simply replaced.
    private func waitForOtherAttempt(key: String, store: RunnerStore) throws {
        let deadline = Date().addingTimeInterval(otherAttemptTimeout)
        while let marker = try? store.incompleteMarker(key), marker.host == identity.name,
              marker.pid != identity.pid, isAlive(marker.pid) {
            if Date() >= deadline {
                throw StepError("step \(key) is already running as pid \(marker.pid) on \(marker.host) since \(marker.started); not starting it twice")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    /// Runs the step `key` of the store at `storeRoot`.
    /// - Parameters:
    ///   - progress: receives each progress report (the CLI writes them as JSON lines on stdout).
    ///   - isCancelled: true once the process was asked to stop.
    /// - Throws: only when the step cannot even be set up (no request, unreadable store); a step that
    ///   runs and fails is `.failed`, recorded in the store.
    public func run(key: String, storeRoot: URL, threads: Int,
                    progress: @escaping (StepProgress) -> Void,
                    isCancelled: @escaping () -> Bool) throws -> StepEntryOutcome {
        HeapPolicy.keepLargeBuffers(environment: ProcessInfo.processInfo.environment)   // steps train and evaluate
        let store = try RunnerStore(root: storeRoot)
        guard let stored = try store.request(key) else {
            throw StepError("no request for step \(key) in \(storeRoot.path) (steps/\(key)/request.json); `runner apply` writes it")
        }
        if let record = try store.record(key), record.status == .succeeded { return .alreadyDone }
        guard let kind = StepKind(rawValue: stored.kind) else {
            throw StepError("step \(key): unknown kind '\(stored.kind)' (this runner knows \(StepKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let request = StepRequest(key: key, kind: kind, name: stored.name, params: stored.params,
                                  inputs: stored.inputs, cores: stored.cores)

        try waitForOtherAttempt(key: key, store: store)
        let started = now()
        try store.markIncomplete(key: key, host: identity.name, pid: identity.pid, started: started)
        let logPath = "steps/\(key)/log.txt"

        func fail(_ message: String) throws -> StepEntryOutcome {
            let record = StepRecord(request: stored, status: .failed, started: started, finished: now(),
                                    host: identity.name, pid: identity.pid, logPath: logPath,
                                    error: message, runnerVersion: runnerVersion)
            try store.writeRecord(record)
            try store.clearIncomplete(key)
            return .failed(message)
        }

        guard let implementation = registry.implementation(for: kind) else {
            return try fail(registry.unavailableReason(kind) ?? "no implementation for \(kind.rawValue)")
        }

        // Inputs: the output trees of succeeded records.
        var inputs: [String: ArtifactTree] = [:]
        for (role, inputKey) in stored.inputs.sorted(by: { $0.key < $1.key }) {
            guard let record = try store.record(inputKey), record.status == .succeeded else {
                return try fail("input '\(role)' (step \(inputKey)) has not succeeded; apply runs it first")
            }
            inputs[role] = record.output
        }

        let workDirectory = try store.logURL(key).deletingLastPathComponent()
        let output = workDirectory.appendingPathComponent("output", isDirectory: true)
        try? FileManager.default.removeItem(at: output)   // left by an earlier, crashed attempt
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }

        let context = StepContext(
            inputs: inputs,
            objectPath: { digest in try store.objects.path(of: digest) },
            outputDirectory: output,
            scratchDirectory: try store.scratchDirectory(key),
            threads: max(1, threads),
            progress: progress,
            isCancelled: isCancelled)

        let result: StepResult
        do {
            result = try implementation.run(request, context: context)
        } catch {
            if isCancelled() {
                try store.clearIncomplete(key)
                return .stopped
            }
            return try fail(String(describing: error))
        }

        var files = try store.storeFiles(in: output)
        for (path, digest) in result.linkedFiles.sorted(by: { $0.key < $1.key }) {
            guard store.objects.contains(digest) else {
                return try fail("linked file \(path) names object \(digest), which is not in the store")
            }
            if let own = files[path], own != digest {
                return try fail("output file \(path) is both written and linked (to \(digest))")
            }
            files[path] = digest
        }
        let record = StepRecord(request: stored, status: .succeeded,
                                output: ArtifactTree(files: files, summary: result.summary),
                                started: started, finished: now(), host: identity.name, pid: identity.pid,
                                logPath: logPath, runnerVersion: runnerVersion)
        try store.writeRecord(record)
        try store.clearIncomplete(key)
        return .succeeded(record)
    }
}
