import CBF16
import COpenBLAS
import Foundation
import NN
import Tensor

/// Engine micro-benchmarks: sgemm (the practical ceiling on this machine) next to Conv3d and
/// ConvTranspose3d forward / backward-data / backward-weight GFLOP/s for every layer shape of the
/// Stage 1 reference model (base 16, 64³ input), plus the bf16 speed and accuracy cost (`runBF16Benchmarks`).
/// Run with and without OPENBLAS_CORETYPE=SkylakeX (printed) to see the kernel choice.
func runTensorBenchmarks(threads: Int = 2, batch: Int = 4) {
    let env = ProcessInfo.processInfo.environment
    print("== Tensor engine benchmarks ==")
    print("CPU: \(cpuModel()), cores: \(ProcessInfo.processInfo.activeProcessorCount)")
    print("OPENBLAS_CORETYPE=\(env["OPENBLAS_CORETYPE"] ?? "(unset)")  config: \(String(cString: openblas_get_config()))")
    print("threads: \(threads), batch: \(batch)")

    print("\n-- sgemm (row-major, C = A·B) --")
    print(pad("shape", 22) + pad("threads", 8) + pad("GFLOP/s", 10))
    for n in [512, 1024, 2048] {
        for t in Set([1, threads]).sorted() {
            let g = sgemmGflops(m: n, n: n, k: n, threads: t)
            print(pad("\(n)³", 22) + pad("\(t)", 8) + pad(String(format: "%.1f", g), 10))
        }
    }
    let ceiling = sgemmGflops(m: 1024, n: 1024, k: 1024, threads: threads)

    print("\n-- layers of the Stage 1 model (GFLOP/s; % of the sgemm 1024³ ceiling \(String(format: "%.0f", ceiling)) in brackets) --")
    print(pad("layer", 40) + pad("GFLOP", 8) + pad("forward", 14) + pad("back-data", 14) + pad("back-weight", 14))
    for layer in stage1Layers(batch: batch) {
        let r = layer.measure(threads: threads, precision: .fp32)
        func cell(_ v: Double) -> String { pad(String(format: "%.1f (%.0f%%)", v, 100 * v / ceiling), 14) }
        print(pad(layer.name, 40) + pad(String(format: "%.2f", layer.gflop), 8) + cell(r.0) + cell(r.1) + cell(r.2))
    }

    print("\n-- the same layers on 1 thread, timed by process CPU time (robust to other load on the machine) --")
    let cpuCeiling = 2 * pow(1024.0, 3) / bestCPUTime { sgemmOnce(1024, threads: 1) } / 1e9
    print("sgemm 1024³, 1 thread, CPU time: \(String(format: "%.1f", cpuCeiling)) GFLOP/s")
    print(pad("layer", 40) + pad("GFLOP", 8) + pad("forward", 14) + pad("back-data", 14) + pad("back-weight", 14))
    for layer in stage1Layers(batch: batch) {
        let r = layer.measure(threads: 1, precision: .fp32, cpuTime: true)
        func cell(_ v: Double) -> String { pad(String(format: "%.1f (%.0f%%)", v, 100 * v / cpuCeiling), 14) }
        print(pad(layer.name, 40) + pad(String(format: "%.2f", layer.gflop), 8) + cell(r.0) + cell(r.1) + cell(r.2))
    }

    print("\n-- 1 → \(threads) thread scaling (forward GFLOP/s) --")
    for layer in stage1Layers(batch: batch) where layer.name.contains("dec.convT5") || layer.name.contains("dec.final") || layer.name.contains("layer2.conv2") {
        let one = layer.measure(threads: 1, precision: .fp32, forwardOnly: true).0
        let many = layer.measure(threads: threads, precision: .fp32, forwardOnly: true).0
        print(pad(layer.name, 40) + String(format: "%.1f → %.1f  (efficiency %.0f%%)", one, many, 100 * many / (one * Double(threads))))
    }

    print("\n-- ConvTranspose3d forward: phase gather + GEMM vs adjoint GEMM + col2vol (GFLOP/s; phases used from 16384 input voxels) --")
    for layer in stage1Layers(batch: batch) {
        guard case .convT(let g) = layer.kind else { continue }
        let x = Tensor.uniform(shape: g.inputShape, low: -1, high: 1, key: RandomKey(seed: 3))
        let w = Tensor.uniform(shape: g.weightShape, low: -0.1, high: 0.1, key: RandomKey(seed: 4))
        let tp = bestTime { _ = try! ConvTranspose3dKernel.forwardByPhases(x, weight: w, geometry: g, threads: threads) }
        let ta = bestTime { _ = try! ConvTranspose3dKernel.forwardByAdjoint(x, weight: w, geometry: g, threads: threads) }
        // One thread, process CPU time: robust to other processes sharing the cores.
        let cp = bestCPUTime { _ = try! ConvTranspose3dKernel.forwardByPhases(x, weight: w, geometry: g, threads: 1) }
        let ca = bestCPUTime { _ = try! ConvTranspose3dKernel.forwardByAdjoint(x, weight: w, geometry: g, threads: 1) }
        print(pad(layer.name, 40) + String(format: "phases %.1f, adjoint %.1f  (ratio %.2f); 1 thread by CPU time: %.1f vs %.1f (ratio %.2f)",
                                           layer.gflop / tp, layer.gflop / ta, ta / tp, layer.gflop / cp, layer.gflop / ca, ca / cp))
    }

    checkpointMemory(threads: threads)

    runBF16Benchmarks(threads: threads, batch: batch)
}

/// `RunnerBench bf16` (also the end of `tensor`): the bf16 GEMM against fp32 sgemm and the
/// emulation, every Stage 1 layer's three passes in bf16 vs fp32 with the forward's relative error,
/// and a whole Stage 1 train step (base 16, latent 256) in fp32 vs bf16 with the loss difference.
func runBF16Benchmarks(threads: Int = 2, batch: Int = 4) {
    print("\n-- bf16 (operands rounded to bfloat16, fp32 accumulation) — path on this CPU: \(Gemm.bf16Path.rawValue) --")
    // Instruction ceilings on one core (thread CPU time): vdpbf16ps does 64 FLOP, vfmadd231ps 32.
    let peak16 = cbf16_peak_gflops(1, 20_000_000), peak32 = cbf16_peak_gflops(0, 20_000_000)
    print(String(format: "1-core instruction ceiling: vdpbf16ps %.1f GFLOP/s, fp32 FMA %.1f GFLOP/s (bf16/fp32 %.2f)", peak16, peak32, peak16 / max(peak32, 1e-9)))
    print(pad("GEMM m×n×k", 22) + pad("threads", 8) + pad("fp32 sgemm", 12) + pad("bf16 native", 13) + pad("bf16 emulated", 14) + "native/fp32")
    for (m, n, k) in [(1024, 1024, 1024), (32, 4096, 432), (128, 512, 1728), (16, 432, 4096)] {
        for t in Set([1, threads]).sorted() {
            let f32 = gemmGflops(m: m, n: n, k: k, threads: t, precision: .fp32, path: .native)
            let nat = gemmGflops(m: m, n: n, k: k, threads: t, precision: .bf16, path: .native)
            let emu = gemmGflops(m: m, n: n, k: k, threads: t, precision: .bf16, path: .emulated)
            print(pad("\(m)×\(n)×\(k)", 22) + pad("\(t)", 8) + pad(String(format: "%.1f", f32), 12) + pad(String(format: "%.1f", nat), 13)
                  + pad(String(format: "%.1f", emu), 14) + String(format: "%.2f", nat / f32))
        }
    }

    print("\nlayers, \(threads) threads, batch \(batch): GFLOP/s fp32 → bf16 (ratio) per pass; relative RMS error of the bf16 forward")
    print(pad("layer", 40) + pad("forward", 22) + pad("back-data", 22) + pad("back-weight", 22) + "rel. error")
    var total32 = 0.0, total16 = 0.0
    for layer in stage1Layers(batch: batch) {
        let a = layer.measure(threads: threads, precision: .fp32), b = layer.measure(threads: threads, precision: .bf16)
        func cell(_ x: Double, _ y: Double) -> String { pad(String(format: "%.1f → %.1f (%.2f)", x, y, y / x), 22) }
        total32 += layer.gflop * (1 / a.0 + 1 / a.1 + 1 / a.2)
        total16 += layer.gflop * (1 / b.0 + 1 / b.1 + 1 / b.2)
        print(pad(layer.name, 40) + cell(a.0, b.0) + cell(a.1, b.1) + cell(a.2, b.2) + String(format: "%.2e", layer.bf16Error()))
    }
    print(String(format: "all conv passes of one step: fp32 %.3f s, bf16 %.3f s (%.2f×)", total32, total16, total32 / total16))

    let env = ProcessInfo.processInfo.environment
    let size = Int(env["RUNNER_BENCH_BF16_SIZE"] ?? "") ?? 32, steps = Int(env["RUNNER_BENCH_BF16_STEPS"] ?? "") ?? 3
    print("\nStage 1 train step (base 16, latent 256, \(size)³, batch \(batch), AdamW, RMSE loss, \(threads) threads; same initial weights; median of \(steps) steps after 1 warm-up)")
    let f32 = stage1TrainSteps(size: size, batch: batch, threads: threads, precision: .fp32, steps: steps)
    let b16 = stage1TrainSteps(size: size, batch: batch, threads: threads, precision: .bf16, steps: steps)
    print(String(format: "fp32 %.3f s/step, bf16 %.3f s/step (%.2f×)", f32.seconds, b16.seconds, f32.seconds / b16.seconds))
    for (i, (a, b)) in zip(f32.losses, b16.losses).enumerated() {
        print(String(format: "  step %d loss fp32 %.6f bf16 %.6f  relative difference %.2e", i, a, b, abs(a - b) / a))
    }
}

/// GFLOP/s of one GEMM (row-major, no transposes) at the given precision and bf16 path.
private func gemmGflops(m: Int, n: Int, k: Int, threads: Int, precision: Precision, path: Gemm.BF16Path) -> Double {
    let a = Tensor.uniform(shape: [m, k], low: -1, high: 1, key: RandomKey(seed: 1))
    let b = Tensor.uniform(shape: [k, n], low: -1, high: 1, key: RandomKey(seed: 2))
    var c = Tensor(shape: [m, n])
    let t = bestTime {
        a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            if precision == .fp32 {
                openblas_set_num_threads(Int32(threads))
                Gemm.gemm(transA: false, transB: false, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!, ldb: n,
                          beta: 0, c: cp.baseAddress!, ldc: n)
            } else {
                Gemm.gemmBF16(path: path, transA: false, transB: false, m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: bp.baseAddress!,
                              ldb: n, beta: 0, c: cp.baseAddress!, ldc: n, threads: threads)
            }
        } } }
    }
    openblas_set_num_threads(Int32(threads))
    return 2 * Double(m * n * k) / t / 1e9
}

/// Losses of `steps` + 1 train steps on a fixed synthetic batch and the median time of the last `steps`.
private func stage1TrainSteps(size: Int, batch: Int, threads: Int, precision: Precision, steps: Int) -> (seconds: Double, losses: [Double]) {
    let model = try! Stage1Model(Stage1Config(baseChannels: 16, latentDim: 256, dropoutRate: 0, inputSize: size), seed: 7)
    let trainer = try! Stage1Trainer(model: model, loss: LossSpec(terms: [.rmse: 1]), optimizer: AdamW(),
                                     scheduler: LRScheduler(.constant, baseLR: 1e-3, totalSteps: steps + 1),
                                     threads: threads, precision: precision)
    let x = Tensor.uniform(shape: [batch, 2, size, size, size], low: 0, high: 1, key: RandomKey(seed: 21))
    var losses: [Double] = [], times: [Double] = []
    for s in 0...steps {
        let t0 = DispatchTime.now().uptimeNanoseconds
        losses.append(try! trainer.step([(x, x)], epoch: 0, dropoutKey: RandomKey(seed: 1, stream: UInt64(s))).loss)
        if s > 0 { times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9) }
    }
    times.sort()
    return (times[times.count / 2], losses)
}

/// Peak activation memory held by the tape (floats saved for backward), with and without
/// checkpointing each block of a stack of conv–BN–ReLU blocks, and the time cost of recomputing.
private func checkpointMemory(threads: Int) {
    let depth = 6, c = 16, size = 32, n = 2
    let key = RandomKey(seed: 11)
    let x = Tensor.uniform(shape: [n, c, size, size, size], low: -1, high: 1, key: key)
    let weights = (0..<depth).map { Variable(Tensor.normal(shape: [c, c, 3, 3, 3], std: 0.05, key: key.derived(UInt64($0))), requiresGrad: true) }
    let gammas = (0..<depth).map { _ in Variable(Tensor(shape: [c], repeating: 1), requiresGrad: true) }
    let betas = (0..<depth).map { _ in Variable(Tensor(shape: [c]), requiresGrad: true) }
    let states = (0..<depth).map { _ in BatchNormState(channels: c) }
    print("\n-- gradient checkpointing: \(depth) blocks conv3d \(c)→\(c) k3 + BN + ReLU on [\(n), \(c), \(size)³] --")
    for checkpointed in [false, true] {
        var peak = 0
        let t = bestTime(runs: 2) {
            let tape = Tape()
            let ctx = ComputeContext.training(tape, threads: threads)
            var h = Variable(x)
            for i in 0..<depth {
                let block: ([Variable], ComputeContext) throws -> Variable = { v, ctx in
                    F.relu(try F.batchNorm(try F.conv3d(v[0], weight: weights[i], bias: nil, padding: 1, ctx),
                                           weight: gammas[i], bias: betas[i], state: states[i], ctx), ctx)
                }
                h = checkpointed ? try! F.checkpoint([h], ctx, block) : try! block([h], ctx)
            }
            let loss = F.mean(F.square(h, ctx), ctx)
            try! tape.backward(loss)
            peak = tape.peakSavedFloats
        }
        print(pad(checkpointed ? "checkpointed" : "plain", 14) + String(format: "peak saved activations %.1f MB, step %.3f s", Double(peak) * 4 / 1e6, t))
    }
}

private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

private func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }) else { return "unknown" }
    return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "unknown"
}

private func bestTime(runs: Int = 3, _ body: () -> Void) -> Double { bestWallTime(runs: runs, body) }

/// Best-of-runs wall time of `body` in seconds (one warm-up call).
private func bestWallTime(runs: Int = 3, _ body: () -> Void) -> Double {
    body()
    var best = Double.infinity
    for _ in 0..<runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    return best
}

/// Best-of-runs CPU time of the whole process (all threads) in seconds.
private func bestCPUTime(runs: Int = 3, _ body: () -> Void) -> Double {
    func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
    body()
    var best = Double.infinity
    for _ in 0..<runs {
        let t0 = now()
        body()
        best = min(best, now() - t0)
    }
    return best
}

private func sgemmOnce(_ n: Int, threads: Int) {
    let a = [Float](repeating: 0.5, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    openblas_set_num_threads(Int32(threads))
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), a, Int32(n), 0, &c, Int32(n))
}

private func sgemmGflops(m: Int, n: Int, k: Int, threads: Int) -> Double {
    let a = Tensor.uniform(shape: [m * k], key: RandomKey(seed: 1)).storage
    let b = Tensor.uniform(shape: [k * n], key: RandomKey(seed: 2)).storage
    var c = [Float](repeating: 0, count: m * n)
    openblas_set_num_threads(Int32(threads))
    let t = bestTime {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), b, Int32(n), 0, &c, Int32(n))
    }
    return 2 * Double(m) * Double(n) * Double(k) / t / 1e9
}

private struct LayerCase {
    enum Kind { case conv(Conv3dGeometry), convT(ConvTranspose3dGeometry) }
    var name: String
    var kind: Kind

    var gflop: Double {
        switch kind {
        case .conv(let g): return 2 * Double(g.macs) / 1e9
        case .convT(let g): return 2 * Double(g.macs) / 1e9
        }
    }

    var shapes: (input: [Int], weight: [Int], output: [Int]) {
        switch kind {
        case .conv(let g): return (g.inputShape, g.weightShape, g.outputShape)
        case .convT(let g): return (g.inputShape, g.weightShape, g.outputShape)
        }
    }

    /// GFLOP/s of forward, backward-data, backward-weight.
    func measure(threads: Int, precision: Precision, forwardOnly: Bool = false, cpuTime: Bool = false) -> (Double, Double, Double) {
        let bestTime: (Int, () -> Void) -> Double = { runs, body in cpuTime ? bestCPUTime(runs: runs, body) : bestWallTime(runs: runs, body) }
        let s = shapes
        let x = Tensor.uniform(shape: s.input, low: -1, high: 1, key: RandomKey(seed: 3))
        let w = Tensor.uniform(shape: s.weight, low: -0.1, high: 0.1, key: RandomKey(seed: 4))
        let dy = Tensor.uniform(shape: s.output, low: -1, high: 1, key: RandomKey(seed: 5))
        let runs = gflop > 1 ? 2 : 3
        let f: Double, bd: Double, bw: Double
        switch kind {
        case .conv(let g):
            f = bestTime(runs) { _ = try! Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: threads, precision: precision) }
            if forwardOnly { return (gflop / f, 0, 0) }
            bd = bestTime(runs) { _ = try! Conv3dKernel.backwardData(dy, weight: w, geometry: g, threads: threads, precision: precision) }
            bw = bestTime(runs) { _ = try! Conv3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: threads, precision: precision) }
        case .convT(let g):
            f = bestTime(runs) { _ = try! ConvTranspose3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: threads, precision: precision) }
            if forwardOnly { return (gflop / f, 0, 0) }
            bd = bestTime(runs) { _ = try! ConvTranspose3dKernel.backwardData(dy, weight: w, geometry: g, threads: threads, precision: precision) }
            bw = bestTime(runs) { _ = try! ConvTranspose3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: threads, precision: precision) }
        }
        return (gflop / f, gflop / bd, gflop / bw)
    }

    /// ‖y_bf16 − y_fp32‖ / ‖y_fp32‖ of the forward pass.
    func bf16Error() -> Double {
        let s = shapes
        let x = Tensor.uniform(shape: s.input, low: -1, high: 1, key: RandomKey(seed: 3))
        let w = Tensor.uniform(shape: s.weight, low: -0.1, high: 0.1, key: RandomKey(seed: 4))
        let (a, b): (Tensor, Tensor)
        switch kind {
        case .conv(let g):
            a = try! Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: 2)
            b = try! Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: 2, precision: .bf16)
        case .convT(let g):
            a = try! ConvTranspose3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: 2)
            b = try! ConvTranspose3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: 2, precision: .bf16)
        }
        var num = 0.0, den = 0.0
        for i in 0..<a.count {
            let d = Double(b[flat: i] - a[flat: i])
            num += d * d
            den += Double(a[flat: i]) * Double(a[flat: i])
        }
        return (num / den).squareRoot()
    }
}

/// Conv shapes of the reference architecture (base 16, 64³ input; one residual block per layer).
private func stage1Layers(batch n: Int) -> [LayerCase] {
    func conv(_ name: String, _ cin: Int, _ cout: Int, _ size: Int, k: Int, s: Int, p: Int) -> LayerCase {
        LayerCase(name: "\(name) \(cin)→\(cout) k\(k)s\(s) @\(size)³",
                  kind: .conv(try! Conv3dGeometry(input: [n, cin, size, size, size], weight: [cout, cin, k, k, k], stride: Size3(s), padding: Size3(p))))
    }
    func convT(_ name: String, _ cin: Int, _ cout: Int, _ size: Int) -> LayerCase {
        LayerCase(name: "\(name) \(cin)→\(cout) k4s2 @\(size)³",
                  kind: .convT(try! ConvTranspose3dGeometry(input: [n, cin, size, size, size], weight: [cin, cout, 4, 4, 4], stride: 2, padding: 1)))
    }
    return [
        conv("enc.initial", 2, 16, 64, k: 7, s: 2, p: 3),
        conv("enc.layer1.conv1", 16, 32, 16, k: 3, s: 1, p: 1),
        conv("enc.layer1.conv2", 32, 32, 16, k: 3, s: 1, p: 1),
        conv("enc.layer1.short", 16, 32, 16, k: 1, s: 1, p: 0),
        conv("enc.layer2.conv1", 32, 64, 16, k: 3, s: 2, p: 1),
        conv("enc.layer2.conv2", 64, 64, 8, k: 3, s: 1, p: 1),
        conv("enc.layer3.conv1", 64, 128, 8, k: 3, s: 2, p: 1),
        conv("enc.layer3.conv2", 128, 128, 4, k: 3, s: 1, p: 1),
        conv("enc.layer4.conv1", 128, 256, 4, k: 3, s: 2, p: 1),
        conv("enc.layer4.conv2", 256, 256, 2, k: 3, s: 1, p: 1),
        convT("dec.convT1", 256, 128, 2),
        convT("dec.convT2", 128, 64, 4),
        convT("dec.convT3", 64, 32, 8),
        convT("dec.convT4", 32, 16, 16),
        convT("dec.convT5", 16, 16, 32),
        conv("dec.final", 16, 2, 64, k: 3, s: 1, p: 1),
    ]
}
