import XCTest
import Execution
import Steps

final class SchedulerTests: XCTestCase {
    private func run(_ steps: [StepRequest], cores: Int, policy: FailurePolicy = .keepGoing,
                     unavailable: [String: String] = [:], cancellation: CancellationFlag = CancellationFlag(),
                     configure: (FakeExecutor, FakeClock) -> Void = { _, _ in }) -> (events: [String], summary: RunSummary, executor: FakeExecutor) {
        let clock = FakeClock()
        let executor = FakeExecutor(clock: clock)
        let scheduler = Scheduler(steps: steps, unavailable: unavailable, cores: cores, policy: policy, clock: clock)
        executor.coresOf = { scheduler.cores(for: $0) }
        configure(executor, clock)
        var events: [String] = []
        let summary = scheduler.run(executor: executor, cancellation: cancellation) { events.append(describe($0)) }
        return (events, summary, executor)
    }

    func testChainRunsInOrder() {
        let r = run([step("generate"), step("clean", ["generate"]), step("split", ["clean"])], cores: 4)
        XCTAssertEqual(r.events, ["start generate", "finish generate 1.0", "start clean", "finish clean 1.0",
                                  "start split", "finish split 1.0"])
        XCTAssertEqual(r.summary.succeeded, ["k-generate", "k-clean", "k-split"])
        XCTAssertTrue(r.summary.allSucceeded)
        XCTAssertEqual(r.summary.duration, 3)
    }

    func testIndependentStepsRunInParallelWithinTheBudget() {
        let steps = (1...5).map { step("s\($0)") }
        let r = run(steps, cores: 2)
        XCTAssertEqual(r.executor.maxCoresInUse, 2)
        XCTAssertEqual(r.summary.duration, 3)   // 5 one-second steps, two at a time
        XCTAssertEqual(Array(r.events.prefix(2)), ["start s1", "start s2"])
    }

    func testStepLargerThanBudgetRunsAloneWithTheBudget() {
        let r = run([step("big", cores: 8), step("small")], cores: 2)
        XCTAssertEqual(r.events, ["start big", "finish big 1.0", "start small", "finish small 1.0"])
        XCTAssertEqual(r.executor.maxCoresInUse, 2)
    }

    func testSmallStepsFillCoresABigStepCannotUse() {
        // 3 cores: a (2) runs; b (2) does not fit beside it; c (1) does.
        let r = run([step("a", cores: 2), step("b", cores: 2), step("c", cores: 1)], cores: 3)
        XCTAssertEqual(Array(r.events.prefix(2)), ["start a", "start c"])
        XCTAssertEqual(r.executor.maxCoresInUse, 3)
    }

    func testFailureSkipsDependantsButIndependentBranchesFinish() {
        let steps = [step("gen"), step("clean", ["gen"]), step("split", ["clean"]), step("other")]
        let r = run(steps, cores: 1) { executor, _ in
            executor.scripts["gen"] = .init(duration: 1, outcome: .failed(message: "boom", logPath: "/log"))
        }
        XCTAssertEqual(r.events, ["start gen", "fail gen: boom", "skip clean: not run: input gen failed",
                                  "skip split: not run: input clean did not run", "start other", "finish other 1.0"])
        XCTAssertEqual(r.summary.failed, ["k-gen"])
        XCTAssertEqual(r.summary.succeeded, ["k-other"])
        XCTAssertEqual(r.summary.skipped["k-clean"], .inputFailed("gen"))
    }

    func testFailFastLaunchesNothingNewButLetsRunningStepsFinish() {
        let steps = [step("a"), step("b"), step("c"), step("d")]
        let r = run(steps, cores: 2, policy: .failFast) { executor, _ in
            executor.scripts["a"] = .init(duration: 1, outcome: .failed(message: "x", logPath: nil))
            executor.scripts["b"] = .init(duration: 2)
        }
        XCTAssertEqual(r.events, ["start a", "start b", "fail a: x", "finish b 2.0",
                                  "skip c: not run: another step failed (--fail-fast)",
                                  "skip d: not run: another step failed (--fail-fast)"])
    }

    func testProgressIsForwardedWithTheStep() {
        let r = run([step("gen")], cores: 1) { executor, _ in
            executor.scripts["gen"] = .init(duration: 4, progress: [1, 2, 3])
        }
        XCTAssertEqual(r.events, ["start gen", "progress gen 1/3", "progress gen 2/3", "progress gen 3/3", "finish gen 4.0"])
    }

    func testCancellationStopsRunningStepsAndLaunchesNothingMore() {
        let flag = CancellationFlag()
        let steps = [step("a"), step("b", ["a"]), step("c")]
        let r = run(steps, cores: 2, cancellation: flag) { executor, _ in
            executor.scripts["a"] = .init(duration: 10)
            executor.scripts["c"] = .init(duration: 10)
            executor.onTime = [(3, { flag.cancel() })]
        }
        XCTAssertEqual(r.executor.cancelCalls, 1)
        XCTAssertEqual(r.events, ["start a", "start c", "stop a 3.0", "skip b: not run: input a did not run", "stop c 3.0"])
        XCTAssertTrue(r.summary.cancelled)
        XCTAssertEqual(r.summary.stopped, ["k-a", "k-c"])
    }

    func testCancelledBeforeStartRunsNothing() {
        let flag = CancellationFlag()
        flag.cancel()
        let r = run([step("a"), step("b")], cores: 2, cancellation: flag)
        XCTAssertEqual(r.events, ["skip a: not run: cancelled", "skip b: not run: cancelled"])
        XCTAssertEqual(r.executor.launched, [])
    }

    func testUnavailableStepsAreSkippedAfterTheirInputsRan() {
        let steps = [step("split"), step("train", ["split"], kind: .train), step("evaluate", ["train"], kind: .evaluate)]
        let r = run(steps, cores: 2, unavailable: ["k-train": "not implemented yet: training arrives with issue 4",
                                                    "k-evaluate": "not implemented yet: evaluation arrives with issue 4"])
        XCTAssertEqual(r.events, ["start split", "finish split 1.0",
                                  "skip train: not implemented yet: training arrives with issue 4",
                                  "skip evaluate: not implemented yet: evaluation arrives with issue 4"])
        XCTAssertEqual(r.executor.launched, ["split"])
    }

    func testAnUnavailableStepAfterAFailureStillSaysWhyItCannotRun() {
        let steps = [step("split"), step("train", ["split"], kind: .train), step("other")]
        let r = run(steps, cores: 1, unavailable: ["k-train": "not implemented yet"]) { executor, _ in
            executor.scripts["split"] = .init(duration: 1, outcome: .failed(message: "x", logPath: nil))
        }
        XCTAssertEqual(r.events, ["start split", "fail split: x", "skip train: not implemented yet", "start other", "finish other 1.0"])
    }

    func testInputsOutsideTheRunCountAsDone() {
        // clean's input (generate) is cached, so it is not part of the run.
        let r = run([step("clean", ["generate"])], cores: 1)
        XCTAssertEqual(r.events, ["start clean", "finish clean 1.0"])
    }

    func testALaunchThatThrowsIsAFailure() {
        let r = run([step("a"), step("b", ["a"])], cores: 1) { executor, _ in executor.failLaunch = ["a"] }
        XCTAssertEqual(r.events, ["fail a: could not start: no such binary", "skip b: not run: input a failed"])
    }

    func testDiamondWaitsForBothInputs() {
        let steps = [step("root"), step("left", ["root"]), step("right", ["root"]), step("join", ["left", "right"])]
        let r = run(steps, cores: 2) { executor, _ in executor.scripts["right"] = .init(duration: 3) }
        XCTAssertEqual(r.events, ["start root", "finish root 1.0", "start left", "start right", "finish left 1.0",
                                  "finish right 3.0", "start join", "finish join 1.0"])
    }
}
