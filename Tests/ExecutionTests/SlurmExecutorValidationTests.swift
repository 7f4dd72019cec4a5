import XCTest
import Execution
import Steps
import Store

/// What the executor refuses before it asks Slurm anything (no cluster needed).
final class SlurmExecutorValidationTests: XCTestCase {
    private var root: URL!
    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-validation-\(UUID().uuidString)")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private func step(_ key: String, _ inputs: [String] = []) -> StepRequest {
        var roles: [String: String] = [:]
        for (i, input) in inputs.enumerated() { roles["in\(i)"] = input }
        return StepRequest(key: key, kind: .generate, name: "step-\(key)", params: .object([:]), inputs: roles, cores: 1)
    }

    func testTopologicalOrderIsStableAndPutsInputsFirst() throws {
        let order = try SlurmExecutor.topologicalOrder([step("c", ["b"]), step("a"), step("b", ["a", "cached"]), step("d")])
        XCTAssertEqual(order.map(\.key), ["a", "b", "d", "c"])   // sweeps over the given order
    }

    func testCyclesAndDuplicatesAreErrors() {
        XCTAssertThrowsError(try SlurmExecutor.topologicalOrder([step("a", ["b"]), step("b", ["a"]), step("c")])) { error in
            XCTAssertTrue("\(error)".contains("cycle") && "\(error)".contains("step-a") && !"\(error)".contains("step-c"), "\(error)")
        }
        XCTAssertThrowsError(try SlurmExecutor.topologicalOrder([step("a"), step("a")])) { error in
            XCTAssertTrue("\(error)".contains("twice"), "\(error)")
        }
    }

    func testRunnerMustBeAnAbsoluteExecutable() throws {
        let store = try RunnerStore(root: root)
        for runner in ["runner", root.appendingPathComponent("missing").path] {
            let executor = SlurmExecutor(store: store, experiment: "e", runner: runner, options: SlurmOptions())
            XCTAssertThrowsError(try executor.preflight([step("a")])) { error in
                guard case .invalidOption(let name, let value, _)? = error as? SlurmError else { return XCTFail("\(error)") }
                XCTAssertEqual(name, "runner executable")
                XCTAssertEqual(value, runner)
            }
        }
    }

    func testAnInputNeitherInTheRunNorInTheStoreIsAnError() throws {
        let store = try RunnerStore(root: root)
        let executor = SlurmExecutor(store: store, experiment: "e", runner: "/bin/sh", options: SlurmOptions())
        XCTAssertThrowsError(try executor.preflight([step("b", ["0123456789abcdef"])])) { error in
            XCTAssertTrue("\(error)".contains("0123456789") && "\(error)".contains("neither in this run nor recorded"), "\(error)")
        }
    }

    func testBadOptionsAreRefusedFirst() throws {
        let store = try RunnerStore(root: root)
        let executor = SlurmExecutor(store: store, experiment: "e", runner: "/bin/sh", options: SlurmOptions(timeLimit: "soon"))
        XCTAssertThrowsError(try executor.preflight([step("a")])) { error in
            XCTAssertTrue("\(error)".contains("time limit 'soon'"), "\(error)")
        }
    }

    func testJobRecordRoundTripsThroughTheStore() throws {
        let store = try RunnerStore(root: root)
        XCTAssertNil(try SlurmJobRecord.load(store: store.layout, key: "abc"))
        let record = SlurmJobRecord(key: "abc", experiment: "e", name: "train[a, seed 1]", submissions: [
            .init(jobId: "7", attempt: 1, submitted: Date(timeIntervalSince1970: 1_800_000_000), dependencies: ["5", "6"]),
            .init(jobId: "9", attempt: 2, submitted: Date(timeIntervalSince1970: 1_800_000_100), dependencies: []),
        ])
        try record.write(store: store.layout)
        XCTAssertEqual(try SlurmJobRecord.load(store: store.layout, key: "abc"), record)
        XCTAssertEqual(record.latestJobId, "9")
        try Data("{broken".utf8).write(to: SlurmJobRecord.url(store: store.layout, key: "abc"))
        XCTAssertThrowsError(try SlurmJobRecord.load(store: store.layout, key: "abc")) { error in
            XCTAssertTrue("\(error)".contains("slurm.json"), "\(error)")
        }
    }
}
