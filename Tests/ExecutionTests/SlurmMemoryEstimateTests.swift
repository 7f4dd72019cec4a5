import Foundation
import XCTest
import Execution
import Planner
import Spec
import Steps
import Store

/// The `--mem` Slurm jobs ask for comes from `MemoryModel`: checked against the peak resident
/// memory of real `runner step` train processes (GNU time's %M), and for how it scales.
final class SlurmMemoryEstimateTests: XCTestCase {
    static func experiment(batch: Int, channels: Int, count: Int = 12) -> String {
        """
        name: memory
        data:
          source: {synthetic: {count: \(count), size: 32, seed: 7}}
          split: {ratios: {train: 0.5, val: 0.25, test: 0.25}, seed: 28}
        model: {base_channels: \(channels), latent_dim: 16}
        training: {epochs: 1, batch_size: \(batch)}
        seeds: [1]

        """
    }

    private func runnerBinary() throws -> URL {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL,
                          Bundle(for: SlurmMemoryEstimateTests.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("runner") }
        guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("the runner binary is not built next to the tests (swift build first)")
        }
        return url
    }

    private func makePlan(_ yaml: String, store: URL) throws -> Plan {
        let file = store.deletingLastPathComponent().appendingPathComponent("e-\(UUID().uuidString.prefix(6)).yaml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        return try Planner.plan(PlanInputs.gather([ExperimentLoader.load(path: file.path)]), store: StoreSnapshot(root: store),
                                cores: CoreBudget(total: 2), host: "test")
    }

    /// Runs the plan's data steps locally, then its train step under GNU time; returns (modelled, asked, measured) MB.
    private func measureTrain(_ yaml: String, in dir: URL) throws -> (model: Double, ask: Int, measured: Double) {
        let runner = try runnerBinary()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { throw XCTSkip("GNU time (/usr/bin/time) is not installed") }
        let storeURL = dir.appendingPathComponent("store-\(UUID().uuidString.prefix(6))")
        let store = try RunnerStore(root: storeURL)
        let plan = try makePlan(yaml, store: storeURL)
        var data: [StepRequest] = []
        var trainRequest: StepRequest?
        for step in plan.steps {
            let kind = try XCTUnwrap(StepKind(rawValue: step.kind.rawValue))
            let request = StepRequest(key: step.key, kind: kind, name: step.name, params: step.params, inputs: step.inputs, cores: step.cores)
            try store.writeRequest(StepRequestRecord(key: step.key, kind: kind.rawValue, name: step.name, params: step.params,
                                                     inputs: step.inputs, cores: step.cores))
            if step.kind < .train { data.append(request) } else if step.kind == .train { trainRequest = request }
        }
        let summary = Scheduler(steps: data, unavailable: [:], cores: 2, policy: .failFast)
            .run(executor: LocalExecutor(runner: runner, storeRoot: storeURL, coreBudget: 2)) { _ in }
        XCTAssertTrue(summary.failed.isEmpty, "\(summary)")
        let train = try XCTUnwrap(trainRequest)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = ["-f", "peak-kb %M", runner.path, "step", train.key, "--store", storeURL.path]
        var environment = ProcessInfo.processInfo.environment
        environment["RUNNER_THREADS"] = "2"
        process.environment = environment
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, text)
        XCTAssertTrue(store.isCached(train.key), text)
        let line = try XCTUnwrap(text.split(separator: "\n").last { $0.hasPrefix("peak-kb ") }, text)
        let measured = try XCTUnwrap(Double(line.dropFirst("peak-kb ".count))) / 1024

        let steps = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.key, $0) })
        let step = try XCTUnwrap(plan.steps.first { $0.key == train.key })
        return (MemoryModel.peakMB(step, steps: steps), MemoryModel.memoryMB(step, steps: steps), measured)
    }

    /// A real train step never needs more than the job asks for, and the model is not wildly off.
    func testEstimateCoversTheMeasuredPeakOfRealTrainSteps() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = try measureTrain(Self.experiment(batch: 2, channels: 4), in: dir)
        let large = try measureTrain(Self.experiment(batch: 8, channels: 16), in: dir)
        for (name, m) in [("batch 2, 4 channels", small), ("batch 8, 16 channels", large)] {
            XCTAssertLessThanOrEqual(m.measured, Double(m.ask), "\(name): measured \(m.measured) MB above the --mem asked, \(m.ask) MB")
            XCTAssertGreaterThan(m.model, m.measured * 0.6, "\(name): model \(m.model) MB, measured \(m.measured) MB")
            XCTAssertLessThan(m.model, m.measured * 1.6, "\(name): model \(m.model) MB, measured \(m.measured) MB")
        }
        XCTAssertGreaterThan(large.measured, small.measured)
        XCTAssertGreaterThan(large.model, small.model)
    }

    /// The train estimate grows with the batch, the width and the volume size, and holds the data.
    func testTrainEstimateScalesWithBatchWidthAndSize() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("slurm-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = dir.appendingPathComponent("store")
        func trainPeak(_ yaml: String) throws -> Double {
            let plan = try makePlan(yaml, store: store)
            let steps = Dictionary(uniqueKeysWithValues: plan.steps.map { ($0.key, $0) })
            return MemoryModel.peakMB(try XCTUnwrap(plan.steps.first { $0.kind == .train }), steps: steps)
        }
        let base = try trainPeak(Self.experiment(batch: 4, channels: 8))
        XCTAssertGreaterThan(try trainPeak(Self.experiment(batch: 8, channels: 8)), base)
        XCTAssertGreaterThan(try trainPeak(Self.experiment(batch: 4, channels: 16)), base)
        XCTAssertGreaterThan(try trainPeak(Self.experiment(batch: 4, channels: 8, count: 400)), base, "the phantoms are held in memory")
        let at64 = try trainPeak(Self.experiment(batch: 4, channels: 8).replacingOccurrences(of: "size: 32", with: "size: 64"))
        XCTAssertGreaterThan(at64, base * 2, "8× the voxels: data and activations grow 8×, the parameters do not")
        // Every step gets an estimate; the floor applies to the small ones.
        let plan = try makePlan(Self.experiment(batch: 4, channels: 8), store: store)
        let all = MemoryModel.estimates(plan)
        XCTAssertEqual(Set(all.keys), Set(plan.steps.map(\.key)))
        XCTAssertTrue(all.values.allSatisfy { $0 >= MemoryModel.minimumMB })
    }
}
