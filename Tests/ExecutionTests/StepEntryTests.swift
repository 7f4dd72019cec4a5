import XCTest
import Execution
import Steps
import Store

/// A small real step kind for the entry-point tests: writes `count` numbered files, reads its
/// input's files through `objectPath`, links one input file, honours cancellation.
private struct CountingStep: StepImplementation {
    static let kind = StepKind.generate
    static let codeVersion = 1
    var behaviour: (StepRequest, StepContext) throws -> Void = { _, _ in }

    func run(_ request: StepRequest, context: StepContext) throws -> StepResult {
        try behaviour(request, context)
        guard case .number(let count)? = request.params[path: "count"] else { throw StepError("params.count missing") }
        var linked: [String: String] = [:]
        for (role, tree) in context.inputs {
            for (path, digest) in tree.files {
                _ = try Data(contentsOf: context.objectPath(digest))
                linked["from-\(role)/\(path)"] = digest
            }
        }
        try FileManager.default.createDirectory(at: context.outputDirectory.appendingPathComponent("parts"), withIntermediateDirectories: true)
        for i in 0..<Int(count) {
            if context.isCancelled() { throw StepError("cancelled after \(i) files") }
            try Data("part \(i) threads \(context.threads)".utf8).write(to: context.outputDirectory.appendingPathComponent("parts/\(i).txt"))
            context.progress(StepProgress(done: i + 1, total: Int(count)))
        }
        return StepResult(summary: .object(["count": .number(count)]), linkedFiles: linked)
    }
}

final class StepEntryTests: XCTestCase {
    private var root: URL!
    private var store: RunnerStore!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("step-entry-\(UUID().uuidString)")
        store = try RunnerStore(root: root)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private func request(_ key: String, count: Int, inputs: [String: String] = [:]) throws -> StepRequestRecord {
        let r = StepRequestRecord(key: key, kind: "generate", name: "generate-\(key)", params: .object(["count": .number(Double(count))]),
                                  inputs: inputs, cores: 1)
        try store.writeRequest(r)
        return r
    }

    private func entry(_ step: CountingStep = CountingStep()) -> StepEntry {
        StepEntry(registry: StepRegistry([step]), identity: HostIdentity(name: "test-host", pid: 4242), runnerVersion: "test")
    }

    func testASucceededStepStoresEveryOutputFileAndClearsItsMarker() throws {
        _ = try request("a", count: 3)
        var progress: [Int] = []
        let outcome = try entry().run(key: "a", storeRoot: root, threads: 2, progress: { progress.append($0.done) }, isCancelled: { false })
        guard case .succeeded(let record) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(progress, [1, 2, 3])
        XCTAssertEqual(record.output.files.keys.sorted(), ["parts/0.txt", "parts/1.txt", "parts/2.txt"])
        XCTAssertEqual(try store.objects.read(record.output.files["parts/1.txt"]!), Data("part 1 threads 2".utf8))
        XCTAssertEqual(record.output.summary, .object(["count": .number(3)]))
        XCTAssertTrue(store.isCached("a"))
        XCTAssertNil(try store.incompleteMarker("a"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("steps/a/output").path))
        XCTAssertEqual(try entry().run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false }), .alreadyDone)
    }

    func testInputsArriveAsTreesAndLinkedFilesAreNotCopied() throws {
        _ = try request("a", count: 2)
        _ = try entry().run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        _ = try request("b", count: 1, inputs: ["data": "a"])
        guard case .succeeded(let record) = try entry().run(key: "b", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        else { return XCTFail() }
        let a = try XCTUnwrap(try store.record("a"))
        XCTAssertEqual(record.output.files["from-data/parts/0.txt"], a.output.files["parts/0.txt"])
        XCTAssertEqual(record.output.files.count, 3)
    }

    func testACorruptInputObjectFailsTheStepWithItsDigest() throws {
        _ = try request("a", count: 1)
        _ = try entry().run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        let digest = try XCTUnwrap(try store.record("a")?.output.files["parts/0.txt"])
        let path = try store.objects.location(of: digest)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path.path)
        try Data("tampered".utf8).write(to: path)
        _ = try request("b", count: 1, inputs: ["data": "a"])
        guard case .failed(let message) = try entry().run(key: "b", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        else { return XCTFail("a corrupt input must fail the step") }
        XCTAssertTrue(message.contains(digest) && message.contains("corrupt"), message)
        XCTAssertEqual(try store.record("b")?.status, .failed)
        XCTAssertFalse(store.isCached("b"))
    }

    func testAFailingStepLeavesAFailedRecordAndNoMarker() throws {
        _ = try request("a", count: 2)
        let failing = CountingStep { _, _ in throw StepError("phantom_7: not an HDF5 file") }
        guard case .failed(let message) = try entry(failing).run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        else { return XCTFail() }
        XCTAssertEqual(message, "phantom_7: not an HDF5 file")
        let record = try XCTUnwrap(try store.record("a"))
        XCTAssertEqual(record.status, .failed)
        XCTAssertEqual(record.error, message)
        XCTAssertEqual(record.logPath, "steps/a/log.txt")
        XCTAssertNil(try store.incompleteMarker("a"))
        XCTAssertFalse(store.isCached("a"))
    }

    func testAStoppedStepKeepsNoRecordNoMarkerButItsScratch() throws {
        _ = try request("a", count: 5)
        var calls = 0
        let step = CountingStep { _, context in
            try Data("checkpoint".utf8).write(to: context.scratchDirectory.appendingPathComponent("ckpt"))
        }
        let outcome = try entry(step).run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { calls += 1; return calls > 2 })
        XCTAssertEqual(outcome, .stopped)
        XCTAssertNil(try store.record("a"))
        XCTAssertNil(try store.incompleteMarker("a"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("steps/a/scratch/ckpt").path))
    }

    func testTheMarkerIsPresentWhileTheStepRuns() throws {
        _ = try request("a", count: 1)
        var seen: IncompleteMarker?
        let step = CountingStep { [store] request, _ in seen = try store!.incompleteMarker(request.key) }
        _ = try entry(step).run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        XCTAssertEqual(seen?.host, "test-host")
        XCTAssertEqual(seen?.pid, 4242)
    }

    func testAnUnimplementedKindFailsWithItsReason() throws {
        try store.writeRequest(StepRequestRecord(key: "t", kind: "report", name: "report", params: .object([:]), inputs: [:], cores: 1))
        guard case .failed(let message) = try entry().run(key: "t", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        else { return XCTFail() }
        // This entry's registry holds only the counting step: the report kind has no implementation here.
        XCTAssertEqual(message, "no implementation of step kind 'report' in this runner")
    }

    func testAMissingRequestOrInputIsAnError() throws {
        XCTAssertThrowsError(try entry().run(key: "nope", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false }))
        _ = try request("b", count: 1, inputs: ["data": "never-ran"])
        guard case .failed(let message) = try entry().run(key: "b", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })
        else { return XCTFail() }
        XCTAssertTrue(message.contains("never-ran"), message)
    }
}

final class StepRegistryTests: XCTestCase {
    /// Every kind the planner plans runs in this runner (the report step included).
    func testEveryKindHasAnImplementation() {
        let registry = StepRegistry.standard
        for kind in StepKind.allCases {
            XCTAssertNotNil(registry.implementation(for: kind), "\(kind) must be implemented")
            XCTAssertNil(registry.unavailableReason(kind))
        }
    }
}

final class StepEntryConcurrencyTests: XCTestCase {
    func testAStepRunningInAnotherLiveProcessIsNotStartedTwice() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("step-twice-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = try RunnerStore(root: root)
        try store.writeRequest(StepRequestRecord(key: "a", kind: "train", name: "train", params: .object([:]), inputs: [:], cores: 1))
        // A marker of this very test process, seen from an entry with another pid: "alive elsewhere".
        try store.markIncomplete(key: "a", host: "h", pid: getpid(), started: Date())
        var entry = StepEntry(registry: StepRegistry([]), identity: HostIdentity(name: "h", pid: 1), runnerVersion: "t")
        entry.otherAttemptTimeout = 0
        XCTAssertThrowsError(try entry.run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false })) { error in
            XCTAssertTrue("\(error)".contains("already running as pid \(getpid())"), "\(error)")
        }
        // A crashed attempt (dead pid) is simply replaced.
        entry.isAlive = { _ in false }
        guard case .failed = try entry.run(key: "a", storeRoot: root, threads: 1, progress: { _ in }, isCancelled: { false }) else {
            return XCTFail("the dead attempt's marker must not block the step")
        }
    }
}
