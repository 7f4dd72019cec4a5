import XCTest
import Execution
import Steps
import Store

/// spine's Scheduler driving Slurm jobs through the `StepExecutor` conformance, on the real cluster.
final class SlurmStepExecutorTests: XCTestCase {
    func testSchedulerRunsAGraphAsSlurmJobsWithRetryAndFailure() throws {
        let h = try SlurmHarness()
        let generate = try h.step("generate", behaviour: """
            echo '{"event":"progress","done":1,"total":2,"message":"half"}'; sleep 1.5
            """)
        let flaky = try h.step("clean", inputs: [generate.key], behaviour: #"[ "$attempt" = 1 ] && exit 3; true"#)
        let bad = try h.step("split", inputs: [generate.key], behaviour: "echo 'no phantoms left' >&2; exit 4")
        let after = try h.step("train[a, seed 1]", inputs: [bad.key])
        let steps = [generate, flaky, bad, after]
        for step in steps {
            try h.store.writeRequest(StepRequestRecord(key: step.key, kind: step.kind.rawValue, name: step.name,
                                                       params: step.params, inputs: step.inputs, cores: step.cores))
        }
        let executor = SlurmStepExecutor(store: h.store, experiment: "slurm-test", runner: h.fakeRunner,
                                         options: SlurmOptions(retries: 1, pollInterval: 0.3), client: h.client, stepCommand: [])
        try executor.preflight(steps)
        var events: [SchedulerEvent] = []
        let summary = Scheduler(steps: steps, cores: 8, policy: .keepGoing).run(executor: executor) { events.append($0) }

        XCTAssertEqual(Set(summary.succeeded), [generate.key, flaky.key])
        XCTAssertEqual(summary.failed, [bad.key])
        XCTAssertEqual(summary.skipped[after.key], .inputFailed("split"))
        XCTAssertEqual(try h.jobRecord(flaky.key)?.submissions.map(\.attempt), [1, 2])
        XCTAssertEqual(try h.jobRecord(bad.key)?.submissions.count, 2)
        XCTAssertNil(try h.jobRecord(after.key))
        XCTAssertTrue(events.contains(.progress(generate, done: 1, total: 2, message: "half")), "\(events)")
        XCTAssertTrue(events.contains { if case .failed(let step, let message, _) = $0 { return step == bad && message.contains("no phantoms left") } else { return false } })
    }
}
