import Foundation
import Planner
import RunnerCLI
import Steps
import Store
import XCTest

/// `runner plan` end to end through the built binary, and its table view.
final class PlanCommandTests: XCTestCase {
    static let quickstart = """
    name: quick
    description: Baseline vs attention.
    data:
      source: {synthetic: {count: 40, size: 32, seed: 7}}
      split: {ratios: {train: 0.8, val: 0.1, test: 0.1}, stratify_by: [tumour_count], seed: 28}
    optimizer: {kind: adamw, lr: 5.0e-5}
    training: {epochs: 2, batch_size: 8}
    ablate:
      attention: {model.attention: spatial}
    seeds: [1337, 28]

    """

    func testPlanTableGroupsByKind() throws {
        let dir = try workspace(self, files: ["quick.yaml": Self.quickstart])
        let result = try runRunner(["plan", "quick.yaml"], in: dir)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "Plan for quick (quick.yaml) against store .runner")
        XCTAssertTrue(lines.contains("generate"))
        XCTAssertTrue(lines.contains("report"))
        XCTAssertEqual(lines.filter { $0.hasPrefix("  + new ") }.count, 12)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  + new     train[attention, seed 28]") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("Plan: 12 to run (12 new, 0 changed), 0 cached; estimated CPU time ") && $0.contains("a guess") })
        XCTAssertFalse(result.stdout.contains("\u{1B}["), "no colours when stdout is not a terminal")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".runner").path), "plan creates no store")
    }

    func testChangedStepsSayWhyInTheTable() throws {
        let dir = try workspace(self, files: ["quick.yaml": Self.quickstart])
        // Record the split of the current file as `apply` would, then change the split seed.
        let plan = try Planner.plan(PlanInputs.load(paths: [dir.appendingPathComponent("quick.yaml").path]),
                                    store: StoreSnapshot(root: dir.appendingPathComponent(".runner")),
                                    cores: CoreBudget(total: 2), host: "test")
        let store = try RunnerStore(root: dir.appendingPathComponent(".runner"))
        for step in plan.steps where step.kind < .train {
            let request = StepRequestRecord(key: step.key, kind: step.kind.rawValue, name: step.name, params: step.params,
                                            inputs: step.inputs, cores: step.cores)
            try store.writeRequest(request)
            let now = Date()
            try store.writeRecord(StepRecord(request: request, status: .succeeded, started: now, finished: now, host: "test", pid: 1,
                                             logPath: "steps/\(step.key)/log.txt", runnerVersion: "test"))
            try store.recordName(experiment: "quick", name: step.name, key: step.key, at: now)
        }
        try Data(Self.quickstart.replacingOccurrences(of: "seed: 28}", with: "seed: 29}").utf8).write(to: dir.appendingPathComponent("quick.yaml"))
        let result = try runRunner(["plan", "quick.yaml"], in: dir)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertTrue(lines.contains { $0.hasPrefix("  = cached  generate") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("  = cached  clean") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("  ~ changed split") && $0.hasSuffix("seed: 28 → 29") })
        XCTAssertTrue(lines.contains { $0.hasPrefix("Plan: 10 to run (9 new, 1 changed), 2 cached;") })
    }

    func testJSONOutputAndSavedPlanAreTheSamePlan() throws {
        let dir = try workspace(self, files: ["quick.yaml": Self.quickstart])
        let result = try runRunner(["plan", "quick.yaml", "--json", "-o", "plan.json"], in: dir)
        XCTAssertEqual(result.status, 0, result.stderr)
        let saved = try Plan.decode(jsonData: Data(contentsOf: dir.appendingPathComponent("plan.json")))
        let printed = try Plan.decode(jsonData: Data(result.stdout.utf8))
        XCTAssertEqual(saved, printed)
        XCTAssertEqual(saved.experimentFiles, ["quick.yaml"])
        XCTAssertEqual(saved.steps.count, 12)
    }

    func testGraphFormats() throws {
        let dir = try workspace(self, files: ["quick.yaml": Self.quickstart])
        let dot = try runRunner(["plan", "quick.yaml", "--graph", "dot"], in: dir)
        XCTAssertEqual(dot.status, 0, dot.stderr)
        XCTAssertTrue(dot.stdout.hasPrefix("digraph plan {"))
        let mermaid = try runRunner(["plan", "quick.yaml", "--graph", "mermaid"], in: dir)
        XCTAssertTrue(mermaid.stdout.hasPrefix("flowchart LR\n"))
        let bad = try runRunner(["plan", "quick.yaml", "--graph", "svg"], in: dir)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertNotEqual(bad.status, 1, "a bad flag is a usage error, not invalid input")
    }

    func testInvalidExperimentPrintsDiagnosticsExitsOneAndWritesNothing() throws {
        let dir = try workspace(self, files: ["bad.yaml": "name: bad\noptimiser: {lr: 0.001}\n"])
        let result = try runRunner(["plan", "bad.yaml", "-o", "plan.json"], in: dir)
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stdout, "")
        XCTAssertTrue(result.stderr.contains("bad.yaml:2:1"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean 'optimizer'?"), result.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("plan.json").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent(".runner").path))
        let missing = try runRunner(["plan", "nowhere.yaml"], in: dir)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("nowhere.yaml"), missing.stderr)
    }

    func testColoursOnlyWhenAsked() throws {
        let plan = try Planner.plan(PlanInputs(experiments: [], files: [], sources: []), store: StoreSnapshot(root: URL(fileURLWithPath: "/nonexistent")),
                                    cores: CoreBudget(total: 1), host: "h")
        XCTAssertEqual(PlanTableView(colors: false).summary(plan), "Plan: nothing to run, 0 steps cached.")
        let dir = try workspace(self, files: ["quick.yaml": Self.quickstart])
        let real = try Planner.plan(PlanInputs.load(paths: [dir.appendingPathComponent("quick.yaml").path]),
                                    store: StoreSnapshot(root: dir.appendingPathComponent(".runner")), cores: CoreBudget(total: 2), host: "h")
        XCTAssertTrue(PlanTableView(colors: true).render(real, store: ".runner").contains("\u{1B}[32m+ new    \u{1B}[0m"))
        XCTAssertFalse(PlanTableView(colors: false).render(real, store: ".runner").contains("\u{1B}"))
    }

    func testDurations() {
        XCTAssertEqual(PlanTableView.duration(42.4), "42 s")
        XCTAssertEqual(PlanTableView.duration(12 * 60 + 10), "12 min")
        XCTAssertEqual(PlanTableView.duration(6 * 3600 + 48 * 60), "6 h 48 min")
        XCTAssertEqual(PlanTableView.duration(3 * 86400 + 4 * 3600 + 10), "3 d 4 h")
    }

    /// The planner's kinds are exactly the Steps module's kinds (Planner cannot import Steps).
    func testPlannerKindsAreTheStepKinds() {
        XCTAssertEqual(PlanStepKind.allCases.map(\.rawValue), StepKind.allCases.map(\.rawValue))
    }
}

/// A temporary working directory holding `files`, removed after the test.
func workspace(_ test: XCTestCase, files: [String: String]) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("PlanCommandTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock {
        if let e = FileManager.default.enumerator(atPath: url.path) {
            for case let rel as String in e { chmod(url.appendingPathComponent(rel).path, 0o755) }
        }
        try? FileManager.default.removeItem(at: url)
    }
    for (name, text) in files { try Data(text.utf8).write(to: url.appendingPathComponent(name)) }
    return url
}

struct PlanRunResult { var status: Int32; var stdout: String; var stderr: String }

/// Runs the built `runner` binary (next to the test bundle) in `directory`.
func runRunner(_ arguments: [String], in directory: URL) throws -> PlanRunResult {
    let candidates = [Bundle.main.bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL,
                      Bundle(for: PlanCommandTests.self).bundleURL.deletingLastPathComponent()]
        .map { $0.appendingPathComponent("runner") }
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
        throw XCTSkip("the runner binary is not built next to the tests")
    }
    let process = Process()
    process.executableURL = binary
    process.arguments = arguments
    process.currentDirectoryURL = directory
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = nil
    process.environment = environment
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("plan-out-\(UUID().uuidString)")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("plan-err-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return PlanRunResult(status: process.terminationStatus,
                         stdout: String(decoding: try Data(contentsOf: out), as: UTF8.self),
                         stderr: String(decoding: try Data(contentsOf: err), as: UTF8.self))
}
