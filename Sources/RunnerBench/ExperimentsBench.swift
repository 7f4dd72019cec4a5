import Foundation

/// `RunnerBench experiments`: the shipped experiments as a user runs them, on the real `runner`
/// binary next to this one, each into a fresh scratch store — quickstart end to end (what `make run`
/// does), and one epoch of stage1-baseline with one seed (data generation at 64³ included). Prints
/// the wall time, the time of each kind of step (steps of one kind may overlap) and the train steps'
/// samples/s. Run from the repository root (`make bench` does), where experiments/ lives.
func runExperimentsBenchmarks() throws {
    guard let binary = siblingRunner(group: "experiments") else { return }
    let experiments = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("experiments")
    guard FileManager.default.fileExists(atPath: experiments.appendingPathComponent("quickstart.yaml").path) else {
        print("experiments: run from the repository root (no experiments/quickstart.yaml here)")
        return
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-experiments-bench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    // One epoch, one seed of the 64³ baseline; its gate (RMSE ≤ 0.083) fails after one epoch, so exit 3 is expected.
    let oneEpoch = dir.appendingPathComponent("stage1-baseline-1-epoch.yaml")
    try """
    extends: \(experiments.appendingPathComponent("stage1-baseline.yaml").path)
    training: {epochs: 1}
    seeds: [1337]
    """.write(to: oneEpoch, atomically: true, encoding: .utf8)

    print("== experiments: `runner apply` into an empty store, wall time (machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "unset"))")
    let quickstart = experiments.appendingPathComponent("quickstart.yaml"), cores = ProcessInfo.processInfo.activeProcessorCount
    let cases: [(label: String, file: URL, arguments: [String])] = [
        ("quickstart.yaml (300 phantoms at 32³, 2 variants × 2 seeds, 4 epochs), as `make run` runs it", quickstart, []),
        ("the same with --train-cores \(cores) (one training at a time on every core: the default before)", quickstart, ["--train-cores", "\(cores)"]),
        ("stage1-baseline.yaml, 1 epoch, 1 seed (1,500 phantoms at 64³, batch 64)", oneEpoch, []),
    ]
    for (index, (label, file, arguments)) in cases.enumerated() {
        let store = dir.appendingPathComponent("store-\(index)")
        let result = try applyJSON(binary, file: file, store: store, arguments: arguments)
        print("  \(label)")
        guard result.exit == 0 || result.exit == 3 else {
            print("    apply failed with exit \(result.exit); see \(store.path)")
            continue
        }
        print(String(format: "    wall %.1f s (%@)", result.wall, formatMinutes(result.wall)))
        for (kind, seconds) in result.secondsByKind.sorted(by: { $0.value > $1.value }) {
            print(String(format: "    %-10@ %8.1f s summed over %d step(s)", kind as NSString, seconds, result.stepsByKind[kind] ?? 0))
        }
        for train in result.trains {
            print(String(format: "    %@: %.1f samples/s over %d epoch(s), %.1f s training", train.name, train.samplesPerSecond, train.epochs, train.seconds))
        }
    }
}

private struct TrainFigures { var name: String; var samplesPerSecond: Double; var epochs: Int; var seconds: Double }
private struct ApplyFigures {
    var exit: Int32, wall: Double
    var secondsByKind: [String: Double] = [:], stepsByKind: [String: Int] = [:]
    var trains: [TrainFigures] = []
}

/// Runs `runner apply FILE --store STORE --json` and reads its event lines.
private func applyJSON(_ binary: URL, file: URL, store: URL, arguments: [String]) throws -> ApplyFigures {
    let p = Process()
    p.executableURL = binary
    p.arguments = ["apply", file.path, "--store", store.path, "--json"] + arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    let start = DispatchTime.now().uptimeNanoseconds
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var figures = ApplyFigures(exit: p.terminationStatus, wall: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        guard let event = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let kind = event["kind"] as? String else { continue }
        switch event["event"] as? String {
        case "finished":
            figures.secondsByKind[kind, default: 0] += event["seconds"] as? Double ?? 0
            figures.stepsByKind[kind, default: 0] += 1
        case "summary_of_step" where kind == "train":
            guard let s = event["summary"] as? [String: Any] else { continue }
            figures.trains.append(TrainFigures(name: event["name"] as? String ?? "train",
                                               samplesPerSecond: s["samples_per_second"] as? Double ?? .nan,
                                               epochs: (s["epochs_run"] as? Double).map { Int($0) } ?? 0,
                                               seconds: s["seconds"] as? Double ?? .nan))
        default: continue
        }
    }
    return figures
}

private func formatMinutes(_ seconds: Double) -> String {
    String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
}
