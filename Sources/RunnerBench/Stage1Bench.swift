import COpenBLAS
import Foundation
import NN
import Tensor

/// `RunnerBench stage1`: the Stage 1 reference model (base 16, latent 256) trained and evaluated by
/// the engine and by PyTorch eager on the same machine in one run, printed side by side with ratios.
///
/// Every case runs in its own process (the engine re-launches this executable with
/// RUNNER_BENCH_STAGE1_CASE set; PyTorch runs tools/bench_torch.py), so each case's peak resident
/// memory is its own and one case's heap does not warm the next. Each process does warm-up steps,
/// then timed steps; the median is reported (wall time, and process CPU time which other load on the
/// machine does not inflate). PyTorch runs twice: as installed ("default") and with its best settings
/// ("best": channels-last-3d, and glibc told to keep freed memory via MALLOC_TRIM_THRESHOLD_ /
/// MALLOC_MMAP_THRESHOLD_ so buffers are not returned to the OS and page-faulted back every step).
/// The engine keeps large buffers in its heap as every `runner step` process does (HeapPolicy), unless
/// the environment sets glibc's malloc variables itself.
///
/// Environment: RUNNER_TORCH_PYTHON (default /work/venv-torch/bin/python), RUNNER_BENCH_ITERS
/// (timed steps, default 3), RUNNER_BENCH_WARMUP (default 1), RUNNER_BENCH_THREADS (default 2),
/// RUNNER_BENCH_STAGE1_ONLY=profile (only the per-layer profile), RUNNER_BENCH_PORTABLE=1 (the engine
/// without its AVX-512F loops, as on a CPU without AVX-512F).
func runStage1Benchmarks() {
    let env = ProcessInfo.processInfo.environment
    HeapPolicy.keepLargeBuffers(environment: env)   // as every `runner step` process does
    if env["RUNNER_BENCH_PORTABLE"] == "1" { AVX512Loops.enabled = false }   // the portable Swift loops, for comparison
    if let spec = env["RUNNER_BENCH_STAGE1_CASE"] {
        runEngineCaseHere(spec)
        return
    }
    let threads = Int(env["RUNNER_BENCH_THREADS"] ?? "") ?? 2
    let settings = BenchSettings(threads: threads,
                                 warmup: Int(env["RUNNER_BENCH_WARMUP"] ?? "") ?? 1,
                                 iters: Int(env["RUNNER_BENCH_ITERS"] ?? "") ?? 3)
    print("== Stage 1 model: engine vs PyTorch eager (base 16, latent 256, fp32) ==")
    print("CPU: \(stage1CPUModel()), cores: \(ProcessInfo.processInfo.activeProcessorCount), threads: \(threads)")
    print("OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "(unset)")  openblas_get_config(): \(String(cString: openblas_get_config()))")
    print("load average at start: \(loadAverage())")
    print("warm-up steps: \(settings.warmup), timed steps: \(settings.iters) (median); each case in its own process")

    let torch = TorchRunner(env: env)
    if let problem = torch.unavailableReason {
        print("PyTorch is not available: \(problem)")
        print("  install it with: python3 -m venv /work/venv-torch && /work/venv-torch/bin/pip install torch numpy")
        print("  (or point RUNNER_TORCH_PYTHON at a python that has torch); only the engine is measured.")
    }

    if env["RUNNER_BENCH_STAGE1_ONLY"] == "bnrelu" {  // the full-resolution BatchNorm + ReLU kernels alone
        printBatchNormReLUKernels(threads: threads)
        return
    }
    if env["RUNNER_BENCH_STAGE1_ONLY"] == "profile" {  // quick look at the profile alone
        printStage1Profile(batch: 4, threads: threads, stepSeconds: nil)
        return
    }
    let cases: [BenchCase] = [
        BenchCase(what: "train", size: 64, batch: 4), BenchCase(what: "train", size: 64, batch: 8),
        BenchCase(what: "train", size: 32, batch: 16), BenchCase(what: "eval", size: 64, batch: 4),
    ]
    var rows: [(BenchCase, CaseResult?, CaseResult?, CaseResult?)] = []
    for c in cases {
        let e = runEngineCase(c, threads: threads, settings)
        let d = torch.unavailableReason == nil ? torch.run(c, mode: "default", threads: threads, settings) : nil
        let b = torch.unavailableReason == nil ? torch.run(c, mode: "best", threads: threads, settings) : nil
        rows.append((c, e, d, b))
    }
    if let v = rows.compactMap({ $0.2?.torchVersion ?? $0.3?.torchVersion }).first { print("torch \(v)") }

    print("\n-- samples/s (wall time, median); ratio = engine / PyTorch (> 1: engine faster) --")
    print(col("case", 18) + col("engine", 10) + col("torch", 10) + col("ratio", 8) + col("torch best", 12) + col("ratio", 8))
    for (c, e, d, b) in rows {
        print(col(c.label, 18) + col(fmt(e?.samplesPerSecond), 10) + col(fmt(d?.samplesPerSecond), 10)
              + col(ratio(e?.samplesPerSecond, d?.samplesPerSecond), 8) + col(fmt(b?.samplesPerSecond), 12)
              + col(ratio(e?.samplesPerSecond, b?.samplesPerSecond), 8))
    }
    print("\n-- CPU seconds per sample (process CPU time, all threads; robust to other load); ratio = PyTorch / engine --")
    print(col("case", 18) + col("engine", 10) + col("torch", 10) + col("ratio", 8) + col("torch best", 12) + col("ratio", 8))
    for (c, e, d, b) in rows {
        let per = { (r: CaseResult?) in r.map { $0.cpuSeconds / Double(c.batch) } }
        print(col(c.label, 18) + col(fmt(per(e)), 10) + col(fmt(per(d)), 10) + col(ratio(per(d), per(e)), 8)
              + col(fmt(per(b)), 12) + col(ratio(per(b), per(e)), 8))
    }
    print("\n-- peak resident memory (MB; VmHWM / ru_maxrss of the case's own process) --")
    print(col("case", 18) + col("engine", 10) + col("torch", 10) + col("torch best", 12))
    for (c, e, d, b) in rows {
        print(col(c.label, 18) + col(fmt(e?.peakRSSMB, "%.0f"), 10) + col(fmt(d?.peakRSSMB, "%.0f"), 10) + col(fmt(b?.peakRSSMB, "%.0f"), 12))
    }

    print("\n-- engine thread scaling (train 32³ b16) --")
    let scaleCase = BenchCase(what: "train", size: 32, batch: 16)
    if let one = runEngineCase(scaleCase, threads: 1, settings),
       let many = rows.first(where: { $0.0.label == scaleCase.label })?.1 {
        print(String(format: "1 thread %.2f samples/s → %d threads %.2f samples/s: speed-up %.2f×, efficiency %.0f%%",
                     one.samplesPerSecond, threads, many.samplesPerSecond, many.samplesPerSecond / one.samplesPerSecond,
                     100 * many.samplesPerSecond / (one.samplesPerSecond * Double(threads))))
    }

    let stepCPU = rows.first(where: { $0.0.label == "train 64³ b4" })?.1.map { $0.cpuSeconds }
    printStage1Profile(batch: 4, threads: threads, stepSeconds: stepCPU)
    print("\nload average at end: \(loadAverage())")
}

// MARK: cases

struct BenchSettings { var threads: Int; var warmup: Int; var iters: Int }

struct BenchCase {
    var what: String  // "train" or "eval"
    var size: Int
    var batch: Int
    var label: String { "\(what) \(size)³ b\(batch)" }
}

struct CaseResult {
    var seconds: Double       // median wall time per step
    var cpuSeconds: Double    // median process CPU time per step
    var peakRSSMB: Double
    var batch: Int
    var torchVersion: String?
    var samplesPerSecond: Double { Double(batch) / seconds }
}

/// Re-launches this executable to run one engine case in a fresh process; parses its JSON line.
private func runEngineCase(_ c: BenchCase, threads: Int, _ s: BenchSettings) -> CaseResult? {
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var env = ProcessInfo.processInfo.environment
    env["RUNNER_BENCH_STAGE1_CASE"] = "\(c.what),\(c.size),\(c.batch),\(threads),\(s.warmup),\(s.iters)"
    guard let json = runForJSON(exe, ["stage1"], env: env, what: "engine \(c.label)") else { return nil }
    return parseResult(json, batch: c.batch)
}

/// Child process: one engine case, printed as one JSON line.
private func runEngineCaseHere(_ spec: String) {
    let f = spec.split(separator: ",").map(String.init)
    guard f.count == 6, let size = Int(f[1]), let batch = Int(f[2]), let threads = Int(f[3]),
          let warmup = Int(f[4]), let iters = Int(f[5]) else {
        FileHandle.standardError.write("RUNNER_BENCH_STAGE1_CASE must be what,size,batch,threads,warmup,iters (got \(spec))\n".data(using: .utf8)!)
        exit(2)
    }
    do {
        let model = try Stage1Model(Stage1Config(inputSize: size), seed: 1)
        let x = Tensor.uniform(shape: [batch, 2, size, size, size], key: RandomKey(seed: 11))
        let t = Tensor.uniform(shape: [batch, 2, size, size, size], key: RandomKey(seed: 12))
        let step: (Int) throws -> Void
        if f[0] == "train" {
            let trainer = try Stage1Trainer(model: model, loss: LossSpec(), optimizer: try AdamW(),
                                            scheduler: try LRScheduler(.constant, baseLR: 1e-3, totalSteps: warmup + iters),
                                            weightDecay: .constant(0.01), threads: threads)
            step = { i in _ = try trainer.step([(input: x, target: t)], epoch: 0, dropoutKey: RandomKey(seed: 5, stream: UInt64(i))) }
        } else {
            step = { _ in _ = try model(Variable(x), .evaluation(threads: threads)) }
        }
        for i in 0..<warmup { try step(i) }
        var wall: [Double] = [], cpu: [Double] = []
        for i in 0..<iters {
            let (w0, c0) = (wallNow(), processCPUNow())
            try step(warmup + i)
            wall.append(wallNow() - w0)
            cpu.append(processCPUNow() - c0)
        }
        print("{\"median_s\": \(median(wall)), \"cpu_s\": \(median(cpu)), \"peak_rss_mb\": \(peakRSSMB())}")
    } catch {
        FileHandle.standardError.write("engine case \(spec) failed: \(error)\n".data(using: .utf8)!)
        exit(1)
    }
}

private struct TorchRunner {
    let python: String
    let script: String?
    let unavailableReason: String?

    init(env: [String: String]) {
        python = env["RUNNER_TORCH_PYTHON"] ?? "/work/venv-torch/bin/python"
        let exeDir = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0])
            .deletingLastPathComponent()
        let candidates = [FileManager.default.currentDirectoryPath + "/tools/bench_torch.py",
                          exeDir.appendingPathComponent("../../tools/bench_torch.py").standardized.path,
                          exeDir.appendingPathComponent("../../../tools/bench_torch.py").standardized.path]
        script = candidates.first { FileManager.default.fileExists(atPath: $0) }
        if !FileManager.default.isExecutableFile(atPath: python) {
            unavailableReason = "no python at \(python) (set RUNNER_TORCH_PYTHON)"
        } else if script == nil {
            unavailableReason = "tools/bench_torch.py not found (run from the repository root)"
        } else if runStatus(python, ["-c", "import torch"]) != 0 {
            unavailableReason = "\(python) cannot import torch"
        } else {
            unavailableReason = nil
        }
    }

    func run(_ c: BenchCase, mode: String, threads: Int, _ s: BenchSettings) -> CaseResult? {
        guard let script else { return nil }
        var env = ProcessInfo.processInfo.environment
        if mode == "best" {
            // glibc: keep freed memory in the heap instead of returning it to the OS (and use the heap,
            // not fresh mmaps, for large blocks): PyTorch's activations are then not page-faulted back.
            env["MALLOC_TRIM_THRESHOLD_"] = env["MALLOC_TRIM_THRESHOLD_"] ?? "17179869184"
            env["MALLOC_MMAP_THRESHOLD_"] = env["MALLOC_MMAP_THRESHOLD_"] ?? "17179869184"
        }
        let args = [script, "--what", c.what, "--size", "\(c.size)", "--batch", "\(c.batch)", "--threads", "\(threads)",
                    "--mode", mode, "--warmup", "\(s.warmup)", "--iters", "\(s.iters)"]
        guard let json = runForJSON(python, args, env: env, what: "PyTorch \(mode) \(c.label)") else { return nil }
        return parseResult(json, batch: c.batch)
    }
}

private func parseResult(_ json: [String: Any], batch: Int) -> CaseResult? {
    guard let s = json["median_s"] as? Double, let c = json["cpu_s"] as? Double, let r = json["peak_rss_mb"] as? Double else { return nil }
    return CaseResult(seconds: s, cpuSeconds: c, peakRSSMB: r, batch: batch, torchVersion: json["torch"] as? String)
}

/// Runs a process and parses the last line of its standard output as a JSON object; reports failures.
private func runForJSON(_ exe: String, _ args: [String], env: [String: String], what: String) -> [String: Any]? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.environment = env
    let out = Pipe()
    p.standardOutput = out
    do { try p.run() } catch {
        print("  (\(what): could not start \(exe): \(error))")
        return nil
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0,
          let line = text.split(separator: "\n").last,
          let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
        print("  (\(what): failed, exit status \(p.terminationStatus))")
        return nil
    }
    return obj
}

private func runStatus(_ exe: String, _ args: [String]) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return -1 }
    p.waitUntilExit()
    return p.terminationStatus
}

// MARK: per-layer profile

/// Times every convolution of the model (forward, backward-data, backward-weight) and the fused
/// BatchNorm + ReLU after it (forward + backward through the tape) at the training batch, with the
/// step's thread count, in process CPU time, and prints each one's share of the measured training
/// step's CPU time (`stepSeconds`). The remainder is everything else (max-pool, linear layers, loss,
/// residual adds, optimizer, allocation).
private func printStage1Profile(batch n: Int, threads: Int, stepSeconds: Double?) {
    print("\n-- engine profile: one training step at 64³ batch \(n), \(threads) threads: process CPU ms (all threads, robust to other load),")
    print("   median of 3 per pass; share of the step's CPU time; GFLOP/s from wall time --")
    print(col("layer", 36) + col("GFLOP", 7) + col("fwd", 8) + col("bwd-data", 9) + col("bwd-wt", 8) + col("BN+ReLU", 8) + col("GFLOP/s", 8) + col("share", 7))
    var total = 0.0
    var lines: [(String, Double)] = []
    for layer in profileLayers(batch: n) {
        let x = Tensor.uniform(shape: layer.input, low: -1, high: 1, key: RandomKey(seed: 3))
        let w = Tensor.uniform(shape: layer.weight, low: -0.1, high: 0.1, key: RandomKey(seed: 4))
        let dy = Tensor.uniform(shape: layer.output, low: -1, high: 1, key: RandomKey(seed: 5))
        let f: Double, bd: Double, bw: Double
        var wall = 0.0
        switch layer.geometry {
        case .conv(let g):
            f = medianTime(&wall) { _ = try! Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: threads) }
            bd = layer.needsDataGradient ? medianTime(&wall) { _ = try! Conv3dKernel.backwardData(dy, weight: w, geometry: g, threads: threads) } : 0
            bw = medianTime(&wall) { _ = try! Conv3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: threads) }
        case .convT(let g):
            f = medianTime(&wall) { _ = try! ConvTranspose3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: threads) }
            bd = medianTime(&wall) { _ = try! ConvTranspose3dKernel.backwardData(dy, weight: w, geometry: g, threads: threads) }
            bw = medianTime(&wall) { _ = try! ConvTranspose3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: threads) }
        }
        let convWall = wall
        let bn = layer.followedByBN ? medianTime(&wall) { batchNormReLUStep(dy, threads: threads) } : 0
        let sum = f + bd + bw + bn
        total += sum
        let flops = layer.gflop * (layer.needsDataGradient ? 3 : 2)
        let share = stepSeconds.map { String(format: "%.0f%%", 100 * sum / $0) } ?? "-"
        lines.append((layer.name, sum))
        print(col(layer.name, 36) + col(String(format: "%.2f", layer.gflop), 7) + col(ms(f), 8) + col(layer.needsDataGradient ? ms(bd) : "-", 9)
              + col(ms(bw), 8) + col(layer.followedByBN ? ms(bn) : "-", 8) + col(String(format: "%.0f", flops / convWall), 8) + col(share, 7))
    }
    if let step = stepSeconds {
        print(String(format: "sum of the rows: %.0f CPU ms of a %.0f CPU ms step (%.0f%%); rest (pool, linear, loss, adds, AdamW, allocation): %.0f ms",
                     1000 * total, 1000 * step, 100 * total / step, 1000 * (step - total)))
        let top = lines.sorted { $0.1 > $1.1 }.prefix(3).map { "\($0.0) \(String(format: "%.0f%%", 100 * $0.1 / step))" }
        print("largest shares: " + top.joined(separator: ", "))
    } else {
        print(String(format: "sum of the rows: %.0f ms (the engine step itself was not measured)", 1000 * total))
    }
}

private struct ProfileLayer {
    enum Geometry { case conv(Conv3dGeometry), convT(ConvTranspose3dGeometry) }
    var name: String
    var geometry: Geometry
    var needsDataGradient = true  // the first layer's input is data: no gradient needed
    var followedByBN = true
    var input: [Int] { switch geometry { case .conv(let g): g.inputShape; case .convT(let g): g.inputShape } }
    var weight: [Int] { switch geometry { case .conv(let g): g.weightShape; case .convT(let g): g.weightShape } }
    var output: [Int] { switch geometry { case .conv(let g): g.outputShape; case .convT(let g): g.outputShape } }
    var gflop: Double { switch geometry { case .conv(let g): 2 * Double(g.macs) / 1e9; case .convT(let g): 2 * Double(g.macs) / 1e9 } }
}

/// The convolutions of the reference model at 64³ (base 16, one residual block per layer).
private func profileLayers(batch n: Int) -> [ProfileLayer] {
    func conv(_ name: String, _ cin: Int, _ cout: Int, _ size: Int, k: Int, s: Int, p: Int) -> ProfileLayer {
        ProfileLayer(name: "\(name) \(cin)→\(cout) k\(k)s\(s) @\(size)³",
                     geometry: .conv(try! Conv3dGeometry(input: [n, cin, size, size, size], weight: [cout, cin, k, k, k], stride: Size3(s), padding: Size3(p))))
    }
    func convT(_ name: String, _ cin: Int, _ cout: Int, _ size: Int) -> ProfileLayer {
        ProfileLayer(name: "\(name) \(cin)→\(cout) k4s2 @\(size)³",
                     geometry: .convT(try! ConvTranspose3dGeometry(input: [n, cin, size, size, size], weight: [cin, cout, 4, 4, 4], stride: 2, padding: 1)))
    }
    var first = conv("enc.initial", 2, 16, 64, k: 7, s: 2, p: 3)
    first.needsDataGradient = false
    var last = conv("dec.final", 16, 2, 64, k: 3, s: 1, p: 1)
    last.followedByBN = false
    return [
        first,
        conv("enc.layer1.conv1", 16, 32, 16, k: 3, s: 1, p: 1),
        conv("enc.layer1.conv2", 32, 32, 16, k: 3, s: 1, p: 1),
        conv("enc.layer1.short", 16, 32, 16, k: 1, s: 1, p: 0),
        conv("enc.layer2.conv1", 32, 64, 16, k: 3, s: 2, p: 1),
        conv("enc.layer2.conv2", 64, 64, 8, k: 3, s: 1, p: 1),
        conv("enc.layer2.short", 32, 64, 16, k: 1, s: 2, p: 0),
        conv("enc.layer3.conv1", 64, 128, 8, k: 3, s: 2, p: 1),
        conv("enc.layer3.conv2", 128, 128, 4, k: 3, s: 1, p: 1),
        conv("enc.layer3.short", 64, 128, 8, k: 1, s: 2, p: 0),
        conv("enc.layer4.conv1", 128, 256, 4, k: 3, s: 2, p: 1),
        conv("enc.layer4.conv2", 256, 256, 2, k: 3, s: 1, p: 1),
        conv("enc.layer4.short", 128, 256, 4, k: 1, s: 2, p: 0),
        convT("dec.deconv1", 256, 128, 2),
        convT("dec.deconv2", 128, 64, 4),
        convT("dec.deconv3", 64, 32, 8),
        convT("dec.deconv4", 32, 16, 16),
        convT("dec.deconv5", 16, 16, 32),
        last,
    ]
}

/// BatchNorm (training) + ReLU, fused as the model runs them (`F.batchNormReLU`), forward and
/// backward through the tape, on a tensor of the layer's output shape.
private func batchNormReLUStep(_ x: Tensor, threads: Int) {
    let c = x.shape[1]
    let tape = Tape()
    let ctx = ComputeContext.training(tape, threads: threads)
    let xv = Variable(x, requiresGrad: true)
    let g = Variable(Tensor(shape: [c], repeating: 1), requiresGrad: true)
    let b = Variable(Tensor(shape: [c], repeating: 0), requiresGrad: true)
    let y = try! F.batchNormReLU(xv, weight: g, bias: b, state: BatchNormState(channels: c), ctx)
    try! tape.backward(y, seed: x)
}

/// CPU ms of the BatchNorm (+ ReLU) kernels on deconv5's output [4, 16, 64³], 1 and `threads` threads.
private func printBatchNormReLUKernels(threads: Int) {
    let x = Tensor.uniform(shape: [4, 16, 64, 64, 64], low: -1, high: 1, key: RandomKey(seed: 3))
    let g = Tensor(shape: [16], repeating: 1), b = Tensor(shape: [16], repeating: 0.1)
    print("\n-- BatchNorm + ReLU kernels on [4, 16, 64³]: process CPU ms (wall ms), median of 3 --")
    for t in Set([1, threads]).sorted() {
        for relu in [false, true] {
            var w1 = 0.0, w2 = 0.0, w3 = 0.0
            let (_, st) = try! BatchNormKernel.forwardTraining(x, gamma: g, beta: b, threads: t, relu: relu)
            let f = medianTime(&w1) { _ = try! BatchNormKernel.forwardTraining(x, gamma: g, beta: b, threads: t, relu: relu) }
            let bw = medianTime(&w2) { _ = try! BatchNormKernel.backwardTraining(x, input: x, gamma: g, statistics: st, threads: t, relu: relu) }
            let tape = medianTime(&w3) { batchNormReLUStep(x, threads: t) }
            print("threads \(t) relu \(relu): forward \(ms(f)) (\(ms(w1))), backward \(ms(bw)) (\(ms(w2))); F.batchNormReLU fwd+bwd \(ms(tape)) (\(ms(w3)))")
        }
    }
    var w = 0.0
    let r = medianTime(&w) { _ = x.map { $0 < 0 ? 0 : $0 } }
    print("Tensor.map ReLU alone (the old unfused forward): \(ms(r)) (\(ms(w)))")
}

// MARK: small helpers

/// Median process CPU time of `runs` calls (after one warm-up); adds the median wall time to `wall`.
private func medianTime(runs: Int = 3, _ wall: inout Double, _ body: () -> Void) -> Double {
    body()
    var t: [Double] = [], w: [Double] = []
    for _ in 0..<runs {
        let (t0, c0) = (wallNow(), processCPUNow())
        body()
        t.append(processCPUNow() - c0)
        w.append(wallNow() - t0)
    }
    wall += median(w)
    return median(t)
}

private func median(_ v: [Double]) -> Double {
    let s = v.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

private func wallNow() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

private func processCPUNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// VmHWM of this process (peak resident set), MB.
private func peakRSSMB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return .nan }
    return kb / 1024
}

private func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "?").split(separator: " ").prefix(3).joined(separator: " ")
}

private func stage1CPUModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }) else { return "unknown" }
    return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
}

private func col(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
private func fmt(_ v: Double?, _ f: String = "%.2f") -> String { v.map { String(format: f, $0) } ?? "n/a" }
private func ms(_ s: Double) -> String { String(format: "%.0f", 1000 * s) }
private func ratio(_ a: Double?, _ b: Double?) -> String {
    guard let a, let b, b > 0 else { return "n/a" }
    return String(format: "%.2f×", a / b)
}
