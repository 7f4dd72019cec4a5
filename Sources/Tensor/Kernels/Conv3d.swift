/// Conv3d forward / backward-data / backward-weight (NCDHW, groups 1, dilation 1) as tiled
/// vol2col + GEMM. Naive twins: `Conv3dReference`. ConvTranspose3d reuses these through its
/// adjoint geometry (ConvTranspose3d.swift).
///
/// Threads: with at least `threads` outer work items (samples or sample tiles) the loop runs on our
/// threads with OpenBLAS single-threaded; otherwise our loop is serial and OpenBLAS gets the threads.
public enum Conv3dKernel {
    /// y[N, Cout, D', H', W'] = conv(x, w) + bias.
    public static func forward(_ x: Tensor, weight w: Tensor, bias: Tensor?, geometry g: Conv3dGeometry,
                               threads: Int = 1, precision: Precision = .fp32) throws -> Tensor {
        try check(x.shape, g.inputShape, "input", g)
        try check(w.shape, g.weightShape, "weight", g)
        if let b = bias { try check(b.shape, [g.outChannels], "bias", g) }
        var y = Tensor(uninitializedShape: g.outputShape)   // forwardRaw writes every element
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    forwardRaw(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, g, threads: threads, precision: precision)
                }
            }
        }
        if let b = bias { addChannelBias(&y, b, channels: g.outChannels, spatial: g.outSize.volume) }
        return y
    }

    /// dx[N, Cin, D, H, W] from dy[N, Cout, D', H', W'].
    public static func backwardData(_ dy: Tensor, weight w: Tensor, geometry g: Conv3dGeometry,
                                    threads: Int = 1, precision: Precision = .fp32) throws -> Tensor {
        try check(dy.shape, g.outputShape, "output gradient", g)
        try check(w.shape, g.weightShape, "weight", g)
        var dx = Tensor(uninitializedShape: g.inputShape)   // backwardDataRaw zeroes or overwrites every element
        dy.withUnsafeBufferPointer { dyp in
            w.withUnsafeBufferPointer { wp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    backwardDataRaw(dyp.baseAddress!, wp.baseAddress!, dxp.baseAddress!, g, threads: threads, precision: precision)
                }
            }
        }
        return dx
    }

    /// (dw [Cout, Cin, kD, kH, kW], db [Cout]) from the input and dy.
    public static func backwardWeight(_ x: Tensor, outputGradient dy: Tensor, geometry g: Conv3dGeometry,
                                      threads: Int = 1, precision: Precision = .fp32) throws -> (weight: Tensor, bias: Tensor) {
        try check(x.shape, g.inputShape, "input", g)
        try check(dy.shape, g.outputShape, "output gradient", g)
        var dw = Tensor(shape: g.weightShape)
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dyp in
                dw.withUnsafeMutableBufferPointer { dwp in
                    backwardWeightRaw(xp.baseAddress!, dyp.baseAddress!, dwp.baseAddress!, g, threads: threads, precision: precision)
                }
            }
        }
        return (dw, channelSums(dy, channels: g.outChannels, spatial: g.outSize.volume))
    }

    // MARK: raw kernels

    static func forwardRaw(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                           _ g: Conv3dGeometry, threads: Int, precision: Precision) {
        if precision == .fp32 && DirectConv.eligible(g) {
            DirectConv.forward(x, w, y, g, threads: threads)
            return
        }
        if StridedDirectConv.handles(g, precision) {
            StridedDirectConv.forward(x, w, y, g, threads: threads)
            return
        }
        let K = g.patchSize, Cout = g.outChannels, Wo = g.outSize.w
        let P = g.outSize.volume, rowsTotal = g.outSize.d * g.outSize.h
        let inPer = g.inChannels * g.inSize.volume, outPer = Cout * P
        let rows = g.isPointwise ? max(1, min(rowsTotal, 4096 / max(1, Wo))) : Vol2Col.rowsPerTile(g)
        let tiles = (rowsTotal + rows - 1) / rows
        let work = g.batch * tiles
        let chunks = Parallel.plan(work: work, threads: threads)
        let gemmThreads = chunks == 1 ? threads : 1   // bf16 GEMM threads (fp32: OpenBLAS's)
        // Stride > 1 along W: deinterleave the input once so vol2col copies contiguous runs.
        let strided = !g.isPointwise && g.stride.w > 1
        let dPer = g.inChannels * g.inSize.d * g.inSize.h * Vol2Col.phaseRow(g)
        let xd = strided ? UnsafeMutablePointer<Float>.allocate(capacity: g.batch * dPer) : nil
        defer { xd?.deallocate() }
        if let xd { Vol2Col.deinterleave(x, rows: g.batch * g.inChannels * g.inSize.d * g.inSize.h, g, into: xd) }
        Parallel.chunks(work, threads: chunks) { _, range in
            let col = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K * rows * Wo)
            defer { col?.deallocate() }
            for item in range {
                let n = item / tiles, r0 = (item % tiles) * rows
                let rc = min(rows, rowsTotal - r0), T = rc * Wo
                let yTile = y + n * outPer + r0 * Wo
                if let col {
                    if let xd {
                        Vol2Col.fillDeinterleaved(xd + n * dPer, g, rowStart: r0, rowCount: rc, col: col)
                    } else {
                        Vol2Col.fill(x + n * inPer, g, rowStart: r0, rowCount: rc, col: col)
                    }
                    Gemm.gemm(transA: false, transB: false, m: Cout, n: T, k: K, a: w, lda: K, b: col, ldb: T,
                              beta: 0, c: yTile, ldc: P, precision: precision, threads: gemmThreads)
                } else {
                    Gemm.gemm(transA: false, transB: false, m: Cout, n: T, k: K, a: w, lda: K, b: x + n * inPer + r0 * Wo,
                              ldb: P, beta: 0, c: yTile, ldc: P, precision: precision, threads: gemmThreads)
                }
            }
        }
    }

    static func backwardDataRaw(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                                _ g: Conv3dGeometry, threads: Int, precision: Precision) {
        if precision == .fp32 && DirectConv.eligible(g) && g.padding.d < g.kernel.d && g.padding.h < g.kernel.h && g.padding.w < g.kernel.w {
            DirectConv.backwardData(dy, w, dx, g, threads: threads)
            return
        }
        let K = g.patchSize, Cout = g.outChannels, Wo = g.outSize.w
        let P = g.outSize.volume, rowsTotal = g.outSize.d * g.outSize.h
        let inPer = g.inChannels * g.inSize.volume, outPer = Cout * P
        let rows = g.isPointwise ? rowsTotal : Vol2Col.rowsPerTile(g)
        let chunks = Parallel.plan(work: g.batch, threads: threads)
        let gemmThreads = chunks == 1 ? threads : 1   // bf16 GEMM threads (fp32: OpenBLAS's)
        Parallel.chunks(g.batch, threads: chunks) { _, range in
            let col = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K * rows * Wo)
            defer { col?.deallocate() }
            for n in range {
                let dxn = dx + n * inPer
                if g.isPointwise {
                    Gemm.gemm(transA: true, transB: false, m: K, n: P, k: Cout, a: w, lda: K, b: dy + n * outPer, ldb: P,
                              beta: 0, c: dxn, ldc: P, precision: precision, threads: gemmThreads)
                    continue
                }
                dxn.update(repeating: 0, count: inPer)
                var r0 = 0
                while r0 < rowsTotal {
                    let rc = min(rows, rowsTotal - r0), T = rc * Wo
                    Gemm.gemm(transA: true, transB: false, m: K, n: T, k: Cout, a: w, lda: K, b: dy + n * outPer + r0 * Wo,
                              ldb: P, beta: 0, c: col!, ldc: T, precision: precision, threads: gemmThreads)
                    Vol2Col.accumulate(col!, g, rowStart: r0, rowCount: rc, into: dxn)
                    r0 += rc
                }
            }
        }
    }

    static func backwardWeightRaw(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                                  _ g: Conv3dGeometry, threads: Int, precision: Precision) {
        if precision == .fp32 && DirectConv.eligible(g) {
            DirectConv.backwardWeight(x, dy, dw, g, threads: threads)
            return
        }
        if StridedDirectConv.handles(g, precision) {
            StridedDirectConv.backwardWeight(x, dy, dw, g, threads: threads)
            return
        }
        let K = g.patchSize, Cout = g.outChannels, Wo = g.outSize.w
        let P = g.outSize.volume, rowsTotal = g.outSize.d * g.outSize.h
        let inPer = g.inChannels * g.inSize.volume, outPer = Cout * P
        let rows = g.isPointwise ? max(1, min(rowsTotal, 4096 / max(1, Wo))) : Vol2Col.rowsPerTile(g)
        let chunks = Parallel.plan(work: g.batch, threads: threads)
        let gemmThreads = chunks == 1 ? threads : 1   // bf16 GEMM threads (fp32: OpenBLAS's)
        let wCount = Cout * K
        // One partial per chunk, summed in chunk order: bit-identical at a fixed thread count.
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: wCount * chunks)
        defer { partials.deallocate() }
        partials.update(repeating: 0, count: wCount * chunks)
        let strided = !g.isPointwise && g.stride.w > 1
        let dPer = g.inChannels * g.inSize.d * g.inSize.h * Vol2Col.phaseRow(g)
        Parallel.chunks(g.batch, threads: chunks) { chunk, range in
            let acc = partials + chunk * wCount
            let col = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K * rows * Wo)
            let xd = strided ? UnsafeMutablePointer<Float>.allocate(capacity: dPer) : nil
            defer { col?.deallocate(); xd?.deallocate() }
            for n in range {
                if let xd { Vol2Col.deinterleave(x + n * inPer, rows: g.inChannels * g.inSize.d * g.inSize.h, g, into: xd) }
                var r0 = 0
                while r0 < rowsTotal {
                    let rc = min(rows, rowsTotal - r0), T = rc * Wo
                    let b: UnsafePointer<Float>
                    let ldb: Int
                    if let col {
                        if let xd {
                            Vol2Col.fillDeinterleaved(xd, g, rowStart: r0, rowCount: rc, col: col)
                        } else {
                            Vol2Col.fill(x + n * inPer, g, rowStart: r0, rowCount: rc, col: col)
                        }
                        b = UnsafePointer(col); ldb = T
                    } else {
                        b = x + n * inPer + r0 * Wo; ldb = P
                    }
                    Gemm.gemm(transA: false, transB: true, m: Cout, n: K, k: T, a: dy + n * outPer + r0 * Wo, lda: P,
                              b: b, ldb: ldb, beta: 1, c: acc, ldc: K, precision: precision, threads: gemmThreads)
                    r0 += rc
                }
            }
        }
        Parallel.sumPartials(partials, count: wCount, chunks: chunks, into: dw)
    }

    // MARK: helpers

    static func check(_ actual: [Int], _ expected: [Int], _ what: String, _ g: Conv3dGeometry) throws {
        guard actual == expected else {
            throw TensorError.shapeMismatch(op: "conv3d", shapes: [actual, expected],
                                            reason: "\(what) does not fit the geometry (expected \(expected))")
        }
    }

    /// y[n, c, :] += b[c].
    static func addChannelBias(_ y: inout Tensor, _ b: Tensor, channels: Int, spatial: Int) {
        let n = y.count / max(1, channels * spatial)
        b.withUnsafeBufferPointer { bp in
            y.withUnsafeMutableBufferPointer { yp in
                for i in 0..<n {
                    for c in 0..<channels {
                        let v = bp[c]
                        let p = yp.baseAddress! + (i * channels + c) * spatial
                        for s in 0..<spatial { p[s] += v }
                    }
                }
            }
        }
    }

    /// Σ over batch and space of dy[n, c, :], per channel (Double accumulation, fixed order).
    static func channelSums(_ dy: Tensor, channels: Int, spatial: Int) -> Tensor {
        let n = dy.count / max(1, channels * spatial)
        var out = Tensor(shape: [channels])
        dy.withUnsafeBufferPointer { p in
            for c in 0..<channels {
                var acc = 0.0
                for i in 0..<n { acc += BatchNormKernel.blockSum(p.baseAddress! + (i * channels + c) * spatial, spatial) }
                out[flat: c] = Float(acc)
            }
        }
        return out
    }
}
