import XCTest
import Execution
import Planner
import Spec
import Steps
import Store

/// A tiny experiment (2 variants × 2 seeds) planned for real, run once with the local executor and
/// once through Slurm with the real `runner step`: the same steps succeed with byte-identical
/// outputs (same object digests: weights, metrics.json), the same summaries (train and evaluate
/// metrics included; only wall-time figures differ), the kinds this runner cannot run yet are
/// skipped the same way, and a second Slurm apply submits nothing.
final class SlurmEquivalenceTests: XCTestCase {
    static let experiment = """
        name: slurm-tiny
        data:
          source: {synthetic: {count: 12, size: 32, seed: 7}}
          split:
            ratios: {train: 0.5, val: 0.25, test: 0.25}
            seed: 28
        model: {base_channels: 8, latent_dim: 16, residual_blocks: 1, attention: none}
        training: {epochs: 1, batch_size: 4}
        ablate:
          attention: {model.attention: spatial}
        seeds: [1, 2]

        """

    private func runnerBinary() throws -> URL {
        let candidates = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL,
                          Bundle(for: SlurmEquivalenceTests.self).bundleURL.deletingLastPathComponent()]
            .map { $0.appendingPathComponent("runner") }
        guard let url = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("the runner binary is not built next to the tests (swift build first)")
        }
        return url
    }

    private func plannedRequests(store: RunnerStore, file: URL) throws -> ([StepRequest], [String: String]) {
        let loaded = try ExperimentLoader.load(path: file.path)
        let plan = try Planner.plan(PlanInputs.gather([loaded]), store: store, cores: CoreBudget(total: 2), host: "test")
        var requests: [StepRequest] = []
        var unavailable: [String: String] = [:]
        for step in plan.stepsToRun {
            let kind = try XCTUnwrap(StepKind(rawValue: step.kind.rawValue))
            let request = StepRequest(key: step.key, kind: kind, name: step.name, params: step.params, inputs: step.inputs, cores: step.cores)
            if let why = StepRegistry.standard.unavailableReason(kind) {
                unavailable[step.key] = why
            } else {
                try store.writeRequest(StepRequestRecord(key: step.key, kind: kind.rawValue, name: step.name,
                                                         params: step.params, inputs: step.inputs, cores: step.cores))
            }
            requests.append(request)
        }
        return (requests, unavailable)
    }

    /// A summary without the figures that measure wall time.
    private func untimed(_ summary: JSONValue) -> JSONValue {
        guard case .object(var fields) = summary else { return summary }
        for key in ["seconds", "samples_per_second"] { fields[key] = nil }
        return .object(fields)
    }

    func testSlurmRunMatchesTheLocalRun() throws {
        let h = try SlurmHarness()
        let runner = try runnerBinary()
        let file = h.root.appendingPathComponent("tiny.yaml")
        try SlurmEquivalenceTests.experiment.write(to: file, atomically: true, encoding: .utf8)

        let localStore = try RunnerStore(root: h.root.appendingPathComponent("local-store"))
        let (localSteps, localUnavailable) = try plannedRequests(store: localStore, file: file)
        let local = Scheduler(steps: localSteps, unavailable: localUnavailable, cores: 2, policy: .keepGoing)
            .run(executor: LocalExecutor(runner: runner, storeRoot: localStore.root, coreBudget: 2)) { _ in }

        let slurmStore = try RunnerStore(root: h.root.appendingPathComponent("slurm-store"))
        let (slurmSteps, slurmUnavailable) = try plannedRequests(store: slurmStore, file: file)
        XCTAssertEqual(slurmSteps, localSteps, "the same plan")
        let executor = SlurmExecutor(store: slurmStore, experiment: "slurm-tiny", runner: runner.path,
                                     options: SlurmOptions(retries: 0, pollInterval: 0.3), client: h.client)
        var finished: [String: Double] = [:]
        let slurm = try executor.runAsScheduler(slurmSteps, unavailable: slurmUnavailable) { event in
            if case .finished(let step, let duration) = event { finished[step.key] = duration }
        }

        XCTAssertFalse(local.succeeded.isEmpty, "\(local)")
        XCTAssertTrue(local.failed.isEmpty, "\(local)")
        XCTAssertEqual(Set(slurm.succeeded), Set(local.succeeded))
        XCTAssertEqual(slurm.failed, local.failed)
        XCTAssertEqual(slurm.skipped, local.skipped)
        var trained = 0, evaluated = 0
        for key in local.succeeded {
            let a = try XCTUnwrap(localStore.record(key)), b = try XCTUnwrap(slurmStore.record(key))
            XCTAssertEqual(b.status, .succeeded)
            // Files that record wall time or the host (history.json, manifest.json) and the
            // summaries with samples/s legitimately differ; weights and metrics must not.
            let timed: Set<String> = ["history.json", "manifest.json"]
            XCTAssertEqual(b.output.files.filter { !timed.contains($0.key) }, a.output.files.filter { !timed.contains($0.key) },
                           "step \(a.name): outputs differ")
            XCTAssertEqual(Set(b.output.files.keys), Set(a.output.files.keys))
            // Summaries agree except the wall-time figures of training (seconds, samples/s).
            XCTAssertEqual(untimed(b.output.summary), untimed(a.output.summary), "step \(a.name): summaries differ")
            if a.request.kind == "evaluate" {
                // Deterministic training: the same metrics, to the bit, from the same metrics.json.
                let metrics = try XCTUnwrap(a.output.files["metrics.json"], "evaluate wrote no metrics.json")
                XCTAssertEqual(b.output.files["metrics.json"], metrics)
                guard case .object(let values) = a.output.summary, case .number(let rmse)? = values["rmse"] else {
                    return XCTFail("evaluate summary without rmse: \(a.output.summary)")
                }
                XCTAssertTrue(rmse.isFinite && rmse > 0, "rmse \(rmse)")
                evaluated += 1
            }
            if a.request.kind == "train" { trained += 1 }
            XCTAssertEqual(b.request, a.request)
            XCTAssertNotNil(try SlurmJobRecord.load(store: slurmStore.layout, key: key), "job id recorded for \(a.name)")
            XCTAssertGreaterThan(try XCTUnwrap(finished[key]), 0, "a duration for throughput, even when the job ran between polls")
        }

        XCTAssertEqual(trained, 4, "2 variants × 2 seeds trained in both runs")
        XCTAssertEqual(evaluated, 4, "2 variants × 2 seeds evaluated in both runs")

        let again = try executor.run(slurmSteps.filter { slurmUnavailable[$0.key] == nil })
        XCTAssertEqual(again.submissions, 0)
        XCTAssertEqual(Set(again.cached), Set(local.succeeded))
    }
}
