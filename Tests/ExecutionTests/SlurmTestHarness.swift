import Foundation
import XCTest
import Execution
import Steps
import Store

/// A temporary store plus a stand-in for `runner step KEY --store DIR` that runs as a real Slurm job
/// on the local cluster: it writes the incomplete marker, counts its attempts in the step's scratch
/// directory, sources the step's `behaviour.sh` (which may fail, sleep or check a checkpoint), then
/// writes a succeeded record (prepared in the store's own format by `prepare`) atomically and clears
/// the marker — the same files in the same order as the real entry point.
final class SlurmHarness {
    let root: URL
    let store: RunnerStore
    let fakeRunner: String
    let client = SlurmClient()

    static let script = """
        #!/bin/sh
        # Test stand-in for `runner step KEY --store DIR` (see SlurmTestHarness.swift).
        key=$1; store=$3; dir="$store/steps/$key"
        cp "$dir/incomplete.template" "$dir/.incomplete.tmp" && mv "$dir/.incomplete.tmp" "$dir/incomplete.json"
        mkdir -p "$dir/scratch"
        attempt=$(( $(cat "$dir/scratch/attempts" 2>/dev/null || echo 0) + 1 ))
        echo "$attempt" > "$dir/scratch/attempts"
        echo "attempt $attempt of $key as job $SLURM_JOB_ID with $SLURM_CPUS_PER_TASK cpus, RUNNER_THREADS=$RUNNER_THREADS, OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE"
        . "$dir/behaviour.sh"
        echo "$key" >> "$store/finished-order.txt"
        cp "$dir/record.template" "$dir/.record.tmp" && mv "$dir/.record.tmp" "$dir/record.json"
        rm -f "$dir/incomplete.json"

        """

    /// Skips (visibly) when there is no reachable cluster — or fails, when `RUNNER_REQUIRE_SLURM=1`
    /// (CI, after `scripts/slurm-local.sh up`), so a broken cluster cannot pass as skipped tests.
    init() throws {
        do {
            try client.preflight(partition: nil)
        } catch {
            let message = "Slurm integration tests need a running cluster (scripts/slurm-local.sh up): \(error)"
            if ProcessInfo.processInfo.environment["RUNNER_REQUIRE_SLURM"] == "1" {
                XCTFail(message + " — RUNNER_REQUIRE_SLURM=1 makes this a failure")
                throw SlurmError.controllerDown(detail: "\(error)")
            }
            throw XCTSkip(message)
        }
        // The store must be on a path every node sees; on the one-node cluster any local path is.
        root = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-test-\(UUID().uuidString)")
        store = try RunnerStore(root: root)
        fakeRunner = root.appendingPathComponent("fake-runner").path
        try SlurmHarness.script.write(toFile: fakeRunner, atomically: true, encoding: .utf8)
        chmod(fakeRunner, 0o755)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    /// A step whose job runs `behaviour` (shell, sourced; `$attempt`, `$dir` are set).
    func step(_ name: String, inputs: [String] = [], behaviour: String = "true") throws -> StepRequest {
        let key = "k" + String(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20))
        var roles: [String: String] = [:]
        for (i, input) in inputs.enumerated() { roles["in\(i)"] = input }
        let request = StepRequest(key: key, kind: .generate, name: name, params: .object([:]), inputs: roles, cores: 1)
        let dir = try store.layout.stepDirectory(key)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try behaviour.write(to: dir.appendingPathComponent("behaviour.sh"), atomically: true, encoding: .utf8)
        let requestRecord = StepRequestRecord(key: key, kind: "generate", name: name, params: .object([:]), inputs: roles, cores: 1)
        let now = Date()
        try StoreJSON.encode(StepRecord(request: requestRecord, status: .succeeded, started: now, finished: now,
                                        host: "localhost", pid: 1, logPath: "steps/\(key)/log.txt", runnerVersion: "test"))
            .write(to: dir.appendingPathComponent("record.template"))
        try StoreJSON.encode(IncompleteMarker(key: key, host: "localhost", pid: 1, started: now))
            .write(to: dir.appendingPathComponent("incomplete.template"))
        return request
    }

    func executor(options: SlurmOptions = SlurmOptions(retries: 1, pollInterval: 0.3),
                  events: EventLog = EventLog()) -> SlurmExecutor {
        SlurmExecutor(store: store, experiment: "slurm-test", runner: fakeRunner, options: options,
                      client: client, stepCommand: [], onEvent: { events.append($0) })
    }

    func finishedOrder() -> [String] {
        let text = (try? String(contentsOf: root.appendingPathComponent("finished-order.txt"), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    func log(_ key: String) -> String {
        (try? String(contentsOf: store.layout.log(key), encoding: .utf8)) ?? ""
    }

    func jobRecord(_ key: String) throws -> SlurmJobRecord? { try SlurmJobRecord.load(store: store.layout, key: key) }

    /// Polls until `condition` holds or `timeout` passes.
    func waitUntil(timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try condition() { return true }
            usleep(200_000)
        }
        return false
    }
}

/// Events in arrival order, readable from the test thread while the executor runs on another.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [SlurmEvent] = []
    func append(_ event: SlurmEvent) { lock.lock(); items.append(event); lock.unlock() }
    var all: [SlurmEvent] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Runs the executor on a background thread so the test can act on the cluster meanwhile.
final class BackgroundRun: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private(set) var result: Result<SlurmRunResult, Error>?

    init(_ executor: SlurmExecutor, _ steps: [StepRequest], mode: SlurmExecutor.Mode = .apply) {
        Thread.detachNewThread { [self] in
            result = Result { try executor.run(steps, mode: mode) }
            done.signal()
        }
    }

    func wait(timeout: Double) -> Result<SlurmRunResult, Error>? {
        done.wait(timeout: .now() + timeout) == .success ? result : nil
    }
}
