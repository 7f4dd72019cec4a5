import Foundation

/// `RunnerBench apply`: a no-op `runner apply` on a fully cached experiment (target: under 0.5 s),
/// timed on the real binary next to this one (`.build/<config>/runner`), beside the cost of merely
/// starting that binary (`runner --help`) as the reference floor.
func runApplyBenchmarks() throws {
    guard let binary = siblingRunner(group: "apply") else { return }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runner-apply-bench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }

    let experiments: [(String, String)] = [
        ("data-only (generate, clean, split; 36 phantoms at 32³)", """
        name: bench-data
        data:
          source: {synthetic: {count: 36, size: 32, seed: 7}}
          split: {ratios: {train: 0.8, val: 0.1, test: 0.1}, stratify_by: [tumour_count], seed: 28}
        """),
        ("matrix of 18 variants × 3 seeds (data steps cached; 109 train/evaluate/report steps listed)", """
        name: bench-matrix
        data:
          source: {synthetic: {count: 36, size: 32, seed: 7}}
          split: {ratios: {train: 0.8, val: 0.1, test: 0.1}, stratify_by: [tumour_count], seed: 28}
        matrix:
          optimizer.lr: [1.0e-4, 5.0e-4, 1.0e-3]
          model.residual_blocks: [1, 2, 3]
          model.attention: [none, spatial]
        seeds: [1, 2, 3]
        """),
    ]

    print("== apply: no-op apply on a fully cached store (median of 15 runs after 1 warm-up)")
    let floor = try median(runs: 15) { try run(binary, ["--help"], in: dir) }
    print("  " + pad("process start only (runner --help), the floor") + String(format: "%8.1f ms", floor * 1000))
    for (index, (label, text)) in experiments.enumerated() {
        let file = "exp\(index).yaml"
        try text.write(to: dir.appendingPathComponent(file), atomically: true, encoding: .utf8)
        let first = try run(binary, ["apply", file], in: dir)   // runs the data steps once
        guard first.status == 0 else { print("  \(label): first apply failed (exit \(first.status))"); continue }
        let t = try median(runs: 15) {
            let r = try run(binary, ["apply", file], in: dir)
            precondition(r.status == 0, "no-op apply failed")
        }
        print("  " + pad(label) + String(format: "%8.1f ms   %.2f× the 500 ms target, %.1f× process start", t * 1000, t / 0.5, t / floor))
    }
}

private func pad(_ s: String) -> String { s.count >= 92 ? s + " " : s + String(repeating: " ", count: 92 - s.count) }

private struct BenchRun { var status: Int32; var seconds: Double }

@discardableResult
private func run(_ binary: URL, _ args: [String], in dir: URL) throws -> BenchRun {
    let p = Process()
    p.executableURL = binary
    p.arguments = args
    p.currentDirectoryURL = dir
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    let start = DispatchTime.now().uptimeNanoseconds
    try p.run()
    p.waitUntilExit()
    return BenchRun(status: p.terminationStatus, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

private func median(runs: Int, _ body: () throws -> Void) throws -> Double {
    try body()   // warm-up (page cache, dynamic loader)
    var times: [Double] = []
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    times.sort()
    return times[times.count / 2]
}
