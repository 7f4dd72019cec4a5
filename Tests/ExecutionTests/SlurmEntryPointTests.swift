import XCTest
import Execution
import Steps
import Store

/// The real `runner step` entry point as a Slurm job (the runner binary built beside the tests),
/// and the Slurm run reported in the scheduler's terms.
final class SlurmEntryPointTests: XCTestCase {
    /// `.build/<config>/runner`, built by `swift build` (make test builds it first).
    private func runnerBinary() throws -> String {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL,
                          Bundle(for: SlurmEntryPointTests.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("runner").path }
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("the runner binary is not built next to the tests (swift build first): looked at \(candidates)")
        }
        return path
    }

    /// A step whose parameters its kind rejects (a report step without variants) fails inside
    /// `runner step` on the cluster: the job's failed record (written by the real entry point from
    /// the request the executor wrote) is the message, there is no retry beyond `retries`, and the
    /// dependant is cancelled.
    func testRealStepEntryPointRecordsItsFailureUnderSlurm() throws {
        let h = try SlurmHarness()
        let runner = try runnerBinary()
        let kind = StepKind.report
        let reason = "report: parameters"
        let first = StepRequest(key: "e2e" + UUID().uuidString.prefix(8).lowercased(), kind: kind, name: "\(kind.rawValue)[a]",
                                params: .object(["x": .number(1)]), inputs: [:], cores: 1)
        let second = StepRequest(key: "e2e" + UUID().uuidString.prefix(8).lowercased(), kind: kind, name: "\(kind.rawValue)[b]",
                                 params: .object([:]), inputs: ["model": first.key], cores: 1)
        let executor = SlurmExecutor(store: h.store, experiment: "e2e", runner: runner,
                                     options: SlurmOptions(retries: 0, pollInterval: 0.3), client: h.client)
        let result = try executor.run([first, second])

        XCTAssertEqual(Array(result.failed.keys), [first.key])
        XCTAssertTrue(try XCTUnwrap(result.failed[first.key]).contains(reason), "\(result.failed)")
        XCTAssertEqual(result.cancelled, [second.key: first.name])
        let record = try XCTUnwrap(h.store.record(first.key))
        XCTAssertEqual(record.status, .failed)
        XCTAssertEqual(record.request.params, .object(["x": .number(1)]))
        XCTAssertNil(try h.store.incompleteMarker(first.key))
        XCTAssertTrue(h.log(first.key).contains(reason), h.log(first.key))
        XCTAssertEqual(try h.jobRecord(first.key)?.submissions.count, 1)
    }

    func testSchedulerViewOfASlurmRun() throws {
        let h = try SlurmHarness()
        let good = try h.step("generate", behaviour: """
            echo '{"event":"progress","done":1,"total":1,"message":"phantoms"}'; sleep 1
            """)
        let bad = try h.step("clean", inputs: [good.key], behaviour: "exit 4")
        let after = try h.step("split", inputs: [bad.key])
        let blocked = try h.step("train[a, seed 1]", inputs: [good.key])
        let beyond = try h.step("evaluate[a, seed 1]", inputs: [blocked.key])
        var events: [SchedulerEvent] = []
        let summary = try h.executor(options: SlurmOptions(retries: 0, pollInterval: 0.3))
            .runAsScheduler([good, bad, after, blocked, beyond], unavailable: [blocked.key: "not implemented yet"]) { events.append($0) }

        XCTAssertEqual(summary.succeeded, [good.key])
        XCTAssertEqual(summary.failed, [bad.key])
        XCTAssertEqual(summary.skipped, [after.key: .inputFailed("clean"), blocked.key: .unavailable("not implemented yet"),
                                         beyond.key: .inputNotRun("train[a, seed 1]")])
        XCTAssertFalse(summary.allSucceeded)
        XCTAssertTrue(events.contains(.progress(good, done: 1, total: 1, message: "phantoms")))
        XCTAssertTrue(events.contains(.started(good)))
        XCTAssertTrue(events.contains { if case .finished(let step, let duration) = $0 { return step == good && duration > 0 } else { return false } })
        XCTAssertTrue(events.contains { if case .failed(let step, let message, _) = $0 { return step == bad && message.contains("exit 4") } else { return false } })
        XCTAssertTrue(events.contains(.skipped(after, reason: .inputFailed("clean"))))
        XCTAssertNil(try h.jobRecord(blocked.key), "an unavailable step is never submitted")
    }
}
