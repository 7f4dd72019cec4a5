import ArgumentParser
import Execution
import Foundation
import Planner
import Steps
import Store

/// `runner reproduce MANIFEST`: re-runs a run from its manifest alone, in a scratch store, and
/// compares the metrics. See docs/runs.md.
struct ReproduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reproduce",
        abstract: "Re-run a run from its manifest in a scratch store and compare its metrics.",
        discussion: """
        MANIFEST is a manifest file (runs/<run-id>/manifest.json, possibly copied elsewhere) or a run id of \
        --store. The manifest's request chain (generate or ingest → clean → split → train → evaluate) is \
        checked (every key must match its recorded parameters), data steps are taken from --store when it \
        has them and otherwise re-run (synthetic phantoms are regenerated from the recorded parameters), \
        the dataset and split fingerprints are checked against the manifest before any training, and train \
        and evaluate always run again in the scratch store; --store is only read. \
        Metrics compare as identical (same bits), within tolerance (|a − b| ≤ tolerance × max(|a|, |b|)) or different. \
        Exit codes: 0 identical or within tolerance · 1 invalid input (unreadable or inconsistent manifest, \
        fingerprint mismatch, non-empty scratch directory) · 2 usage · 3 the results differ · 4 a step failed.
        """)

    @Argument(help: ArgumentHelp("A run manifest, or a run id of the store.", valueName: "MANIFEST")) var manifest: String
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: ArgumentHelp("Scratch store to run in (absent or empty; kept). Default: a temporary directory, removed afterwards.", valueName: "DIR"))
    var scratch: String?
    @Option(help: "Relative tolerance for 'within tolerance'.") var tolerance: Double = 1e-6
    @Option(help: "Core budget (default: all cores of this machine).") var cores: Int?
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func validate() throws {
        if !(tolerance >= 0) || !tolerance.isFinite { throw ValidationError("--tolerance must be a finite number ≥ 0 (got \(tolerance))") }
        if let cores, cores < 1 { throw ValidationError("--cores must be at least 1 (got \(cores))") }
    }

    func run() throws {
        let (recorded, manifestPath) = try loadManifest()
        let chain = try Reproduction.chain(of: recorded)
        let budget = cores ?? ProcessInfo.processInfo.activeProcessorCount
        let (scratchStore, temporary) = try openScratch()
        var keepScratch = !temporary
        defer { if !keepScratch { try? FileManager.default.removeItem(at: scratchStore.root) } }
        func note(_ text: String) { if !json { Console.error("reproduce: " + text) } }

        note("\(recorded.experiment.isEmpty ? "" : recorded.experiment + " ")\(recorded.variant) seed \(recorded.seed), run \(recorded.runID.prefix(10)), in \(scratchStore.root.path)")
        for change in chain.versionChanges { note("code version of \(change) since the run: the re-run uses this runner's code") }
        if let trainCores = recorded.trainCores, trainCores > budget {
            note("the run's train step had \(trainCores) cores, this budget is \(budget): thread counts differ")
        }

        // 1. Data steps: reuse them from --store when present, else run them in the scratch store.
        let userStore = StoreSnapshot(root: storeOptions.url)
        var reused: [String] = []
        for step in chain.steps where step.isData && step.newKey == step.recorded.key {
            if try Reproduction.copyStep(step.newKey, from: userStore, to: scratchStore) { reused.append(step.recorded.name) }
        }
        if !reused.isEmpty { note("reused from \(userStore.root.path): \(reused.joined(separator: ", "))") }
        try runSteps(chain.steps.filter { $0.isData && !scratchStore.isCached($0.newKey) }, in: scratchStore, budget: budget,
                     keep: &keepScratch, note: note)

        // 2. Never train on different data: fingerprints first.
        let fingerprints = try Reproduction.checkFingerprints(recorded, chain: chain, store: scratchStore)

        // 3. Train and evaluate, always again.
        try runSteps(chain.steps.filter { !$0.isData }, in: scratchStore, budget: budget, keep: &keepScratch, note: note)
        let reproduced = try Reproduction.producedManifest(chain.evaluate.newKey, store: scratchStore)
        let comparison = Reproduction.compare(recorded: recorded, reproduced: reproduced, tolerance: tolerance)

        if json {
            Console.out(comparison.json(manifest: manifestPath, runID: recorded.runID, scratch: keepScratch ? scratchStore.root.path : nil,
                                        reused: reused, versionChanges: chain.versionChanges, fingerprints: fingerprints).canonicalText)
        } else {
            Console.out(comparison.text)
            if keepScratch { Console.out("scratch store: \(scratchStore.root.path)") }
        }
        if comparison.verdict == .different { throw ExitCode(RunnerExit.gateFailed.rawValue) }
    }

    /// The manifest named by the argument: a file, else `runs/<id>/manifest.json` of the store.
    private func loadManifest() throws -> (Manifest, String) {
        var path = manifest
        if !FileManager.default.fileExists(atPath: path) {
            let candidate = storeOptions.url.appendingPathComponent("runs").appendingPathComponent(manifest).appendingPathComponent("manifest.json")
            guard !manifest.contains("/"), FileManager.default.fileExists(atPath: candidate.path) else {
                throw CLIFailure(.invalidInput, "reproduce: \(manifest): no such manifest file, nor a run id of the store \(storeOptions.url.path)")
            }
            path = candidate.path
        }
        do {
            return (try StoreJSON.decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: path))), path)
        } catch {
            throw CLIFailure(.invalidInput, "reproduce: \(path): not a readable run manifest: \(error)")
        }
    }

    /// The scratch store: `--scratch DIR` (absent or empty, never the user's store) or a new temporary directory.
    private func openScratch() throws -> (RunnerStore, temporary: Bool) {
        let url: URL
        let temporary = scratch == nil
        if let scratch {
            url = URL(fileURLWithPath: scratch, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
            if url.path == storeOptions.url.path {
                throw CLIFailure(.usage, "reproduce: --scratch must not be the store (\(url.path)): the re-run must not touch your results")
            }
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
            if !contents.isEmpty {
                throw CLIFailure(.invalidInput, "reproduce: the scratch directory \(url.path) is not empty; give an absent or empty directory")
            }
        } else {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("runner-reproduce-\(UUID().uuidString.prefix(8))")
        }
        do { return (try RunnerStore(root: url), temporary) } catch {
            throw CLIFailure(.invalidInput, "reproduce: cannot create the scratch store at \(url.path): \(error)")
        }
    }

    /// Runs steps (inputs first) in the scratch store through the usual executor; a failure is exit 4
    /// and keeps the scratch store for its logs.
    private func runSteps(_ steps: [Reproduction.Step], in store: RunnerStore, budget: Int, keep: inout Bool,
                          note: (String) -> Void) throws {
        guard !steps.isEmpty else { return }
        var requests: [StepRequest] = []
        for step in steps {
            guard let kind = StepKind(rawValue: step.recorded.kind) else {
                throw CLIFailure(.invalidInput, "reproduce: step \(step.recorded.name) has kind '\(step.recorded.kind)', unknown to this runner")
            }
            if let why = StepRegistry.standard.unavailableReason(kind) { throw CLIFailure(.invalidInput, "reproduce: \(step.recorded.name): \(why)") }
            let request = StepRequest(key: step.newKey, kind: kind, name: step.recorded.name, params: step.recorded.params,
                                      inputs: step.newInputs, cores: step.recorded.cores)
            try store.writeRequest(StepRequestRecord(key: request.key, kind: kind.rawValue, name: request.name, params: request.params,
                                                     inputs: request.inputs, cores: request.cores))
            requests.append(request)
        }
        let scheduler = Scheduler(steps: requests, cores: budget, policy: .failFast)
        let executor = LocalExecutor(runner: RunnerExecutable.url, storeRoot: store.root, coreBudget: budget)
        var failures: [String] = []
        let summary = scheduler.run(executor: executor) { event in
            switch event {
            case .started(let r): note("running \(r.name)")
            case .finished(let r, let seconds): note(String(format: "%@ done (%.1f s)", r.name, seconds))
            case .failed(let r, let message, let log): failures.append("\(r.name) failed: \(message)" + (log.map { " (log: \($0))" } ?? ""))
            default: break
            }
        }
        if !summary.allSucceeded {
            keep = true
            throw CLIFailure(.stepFailed, "reproduce: " + (failures.isEmpty ? "steps did not finish" : failures.joined(separator: "\n"))
                             + "\nscratch store kept at \(store.root.path)")
        }
    }
}
