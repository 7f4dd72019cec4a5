import Foundation
import Planner
import Spec
import Store
import XCTest

final class PlanFormatTests: XCTestCase {
    func testJSONRoundTrip() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        for step in try makePlan([ablation()], store: store.snapshot).steps.prefix(4) { try recordRun(step, in: store) }
        let plan = try makePlan([ablation { $0.optimizer.lr = 1e-4 }], store: store.snapshot)
        XCTAssertTrue(plan.steps.contains { $0.status == .changed })
        let text = try plan.jsonText()
        let decoded = try Plan.decode(jsonData: Data(text.utf8))
        XCTAssertEqual(decoded, plan)
        XCTAssertEqual(try decoded.jsonText(), text)
    }

    func testJSONShape() throws {
        let tree = try JSONValue(jsonData: Data(makePlan([ablation()]).jsonText().utf8))
        XCTAssertEqual(tree[path: "format"], .number(1))
        XCTAssertEqual(tree[path: "key_schema"], .number(1))
        XCTAssertEqual(tree[path: "experiments"], .array([.string("ablation")]))
        XCTAssertEqual(tree[path: "summary.run"], .number(12))
        XCTAssertEqual(tree[path: "summary.by_kind.train.new"], .number(4))
        XCTAssertEqual(tree[path: "summary.estimate_is_guess"], .bool(true))
        guard case .array(let sources)? = tree[path: "sources"], case .array(let steps)? = tree[path: "steps"] else {
            return XCTFail("sources and steps must be arrays")
        }
        XCTAssertEqual(sources, [.object(["path": .string("experiments/ablation.yaml"), "sha256": .string(Digest.sha256("name: ablation\n"))])])
        let first = steps[0]
        for field in ["key", "kind", "experiment", "name", "params", "inputs", "cores", "action", "status", "why", "work", "estimate"] {
            XCTAssertNotNil(first[path: field], field)
        }
        XCTAssertEqual(first[path: "action"], .string("run"))
        XCTAssertEqual(first[path: "estimate.basis"], .string("guess"))
    }

    func testChangeJSONCarriesTheRenderedText() throws {
        let change = StepChange.parameter(path: "optimizer.lr", old: .number(5e-5), new: .number(1e-4))
        let tree = try JSONValue(encoding: change)
        XCTAssertEqual(tree, .object(["kind": .string("parameter"), "path": .string("optimizer.lr"),
                                      "old": .number(5e-5), "new": .number(1e-4), "text": .string("optimizer.lr: 5e-05 → 0.0001")]))
        XCTAssertEqual(try tree.decode(StepChange.self), change)
        let absent = StepChange.parameter(path: "training.ema", old: nil, new: .number(0.999))
        XCTAssertEqual(absent.description, "training.ema: (absent) → 0.999")
        XCTAssertEqual(try JSONValue(encoding: absent).decode(StepChange.self), absent)
    }

    func testOtherFormatsAreRefused() throws {
        var tree = try JSONValue(jsonData: Data(makePlan([ablation()]).jsonText().utf8))
        guard case .object(var fields) = tree else { return XCTFail() }
        fields["format"] = .number(99)
        tree = .object(fields)
        XCTAssertThrowsError(try Plan.decode(jsonData: tree.canonicalData)) { error in
            XCTAssertEqual(error as? PlannerError, .unsupportedPlanFormat(found: 99, supported: 1))
        }
    }

    func testFreshPlanIsNotStale() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let saved = try makePlan([ablation()], store: store.snapshot)
        XCTAssertEqual(try saved.staleness(currentInputs: PlanInputs.gather([ablation()]), store: store.snapshot), [])
        XCTAssertFalse(try saved.isStale(currentInputs: PlanInputs.gather([ablation()]), store: store.snapshot))
    }

    func testEditedFileMakesThePlanStale() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let saved = try makePlan([ablation()], store: store.snapshot)
        // Even an edit that changes no key (a comment) makes a saved plan stale: it was made from other bytes.
        var edited = ablation()
        edited.sources[0].contents = Data("name: ablation\n# a comment\n".utf8)
        XCTAssertEqual(try saved.staleness(currentInputs: PlanInputs.gather([edited]), store: store.snapshot),
                       [.sourceChanged(path: "experiments/ablation.yaml")])
    }

    func testStoreChangeMakesThePlanStale() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let saved = try makePlan([ablation()], store: store.snapshot)
        try recordRun(saved.steps[0], in: store)
        let reasons = try saved.staleness(currentInputs: PlanInputs.gather([ablation()]), store: store.snapshot)
        XCTAssertEqual(reasons, [.storeChanged])
        XCTAssertTrue(reasons[0].description.contains("store changed"))
    }

    func testUnrelatedStoreActivityDoesNotMakeThePlanStale() throws {
        let store = try RunnerStore(root: makeTemporaryDirectory(self))
        let saved = try makePlan([ablation()], store: store.snapshot)
        var other = baseExperiment(name: "other")
        other.data.split.seed = 3
        for step in try makePlan([loaded(other)], store: store.snapshot).steps where step.kind == .split { try recordRun(step, in: store) }
        XCTAssertEqual(try saved.staleness(currentInputs: PlanInputs.gather([ablation()]), store: store.snapshot), [])
    }

    func testChangedDataDirectoryMakesThePlanStale() throws {
        let dir = try makeTemporaryDirectory(self)
        try Data(count: 10).write(to: dir.appendingPathComponent("a.h5"))
        var base = baseExperiment()
        base.data.source = .hdf5(HDF5Source(dir: dir.path))
        let store = StoreSnapshot(root: dir.appendingPathComponent(".runner"))
        let saved = try makePlan([loaded(base)], store: store)
        try Data(count: 10).write(to: dir.appendingPathComponent("b.h5"))
        let reasons = try saved.staleness(currentInputs: PlanInputs.gather([loaded(base)]), store: store)
        XCTAssertEqual(reasons, [.dataDirectoryChanged(dir: dir.path)])
    }

    func testDotGraphShape() throws {
        let plan = try makePlan([ablation()])
        let dot = plan.dotText()
        XCTAssertTrue(dot.hasPrefix("digraph plan {\n  rankdir=LR;\n"))
        XCTAssertTrue(dot.hasSuffix("}\n"))
        let lines = dot.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.contains("[label=") && !$0.contains("->") }.count, plan.steps.count)
        let edges = plan.steps.map(\.inputs.count).reduce(0, +)
        XCTAssertEqual(lines.filter { $0.contains(" -> ") }.count, edges)
        let split = plan.steps[2], clean = plan.steps[1]
        XCTAssertTrue(lines.contains("  \"\(split.key)\" [label=\"split\\n\(split.shortKey) · new\", fillcolor=\"#c8e6c9\"];"))
        XCTAssertTrue(lines.contains("  \"\(clean.key)\" -> \"\(split.key)\" [label=\"data\"];"))
        // Report inputs are named after their producers: no edge label.
        let report = plan.steps.last!
        XCTAssertTrue(lines.contains("  \"\(report.inputs["train[baseline, seed 28]"]!)\" -> \"\(report.key)\";"))
    }

    func testMermaidGraphShape() throws {
        let plan = try makePlan([ablation()])
        let lines = plan.mermaidText().split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "flowchart LR")
        XCTAssertEqual(lines[1], "  s0[\"generate<br/>\(plan.steps[0].shortKey) · new\"]:::new")
        XCTAssertTrue(lines.contains("  s0 -->|data| s1"))
        XCTAssertTrue(lines.contains("  s4 --> s11"))   // evaluate[baseline, seed 1337] → report
        XCTAssertEqual(lines.filter { $0.contains("-->") }.count, plan.steps.map(\.inputs.count).reduce(0, +))
        XCTAssertEqual(Array(lines.suffix(3)), ["  classDef new fill:#c8e6c9", "  classDef changed fill:#ffe0b2", "  classDef cached fill:#eeeeee"])
        XCTAssertEqual(plan.graphText(.mermaid), plan.mermaidText())
        XCTAssertEqual(plan.graphText(.dot), plan.dotText())
    }
}
