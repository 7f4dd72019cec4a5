import CKernels

/// Direct (register-blocked) stride-1 convolution for layers with few output channels, such as the
/// model's final Conv3d 16→2 at 64³: there the GEMM has M = 2 rows and vol2col traffic dominates.
/// Here each thread pads one input sample once, then for every output row keeps 2 channels × 16
/// outputs in registers while it streams over all Cin·k³ taps.
/// The data gradient of such a layer is the same kind of correlation (padding k − 1 − p, flipped
/// kernel, channels exchanged), so it uses this kernel too.
enum DirectConv {
    typealias V = SIMD16<Float>

    static func eligible(_ g: Conv3dGeometry) -> Bool {
        g.stride == Size3(1) && !g.isPointwise && g.outChannels <= 4
    }

    /// y[N, Cout, D', H', W'] = x ⋆ w, stride 1 (no bias).
    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        _ g: Conv3dGeometry, threads: Int) {
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Do, Ho, Wo) = (g.outSize.d, g.outSize.h, g.outSize.w)
        let k = g.kernel, p = g.padding
        let (Dp, Hp) = (D + 2 * p.d, H + 2 * p.h)
        let chunksPerRow = (Wo + 15) / 16
        let Wp = chunksPerRow * 16 + k.w - 1          // padded row, long enough for whole 16-wide loads
        let taps = Cin * k.volume
        let groups = (Cout + 1) / 2
        // Weights per channel pair, tap-major: wt[group][tap] = (w[2g][tap], w[2g+1][tap]).
        var wt = [Float](repeating: 0, count: groups * taps * 2)
        for co in 0..<Cout { for t in 0..<taps { wt[((co / 2) * taps + t) * 2 + co % 2] = w[co * taps + t] } }
        // Row offsets of each tap inside the padded sample.
        var offsets = [Int](repeating: 0, count: taps)
        var t = 0
        for ci in 0..<Cin { for i in 0..<k.d { for j in 0..<k.h { for l in 0..<k.w {
            offsets[t] = ((ci * Dp + i) * Hp + j) * Wp + l
            t += 1
        } } } }
        let chunks = Parallel.plan(work: g.batch, threads: threads)
        let avx512 = AVX512Loops.enabled   // CKernels: FMA, 8 accumulator chains
        wt.withUnsafeBufferPointer { wtp in offsets.withUnsafeBufferPointer { op in
            Parallel.chunks(g.batch, threads: chunks) { _, range in
                let padded = UnsafeMutablePointer<Float>.allocate(capacity: Cin * Dp * Hp * Wp)
                defer { padded.deallocate() }
                padded.update(repeating: 0, count: Cin * Dp * Hp * Wp)
                var tail = [Float](repeating: 0, count: 32)
                for n in range {
                    let xn = x + n * Cin * D * H * W
                    for c in 0..<Cin { for d in 0..<D { for h in 0..<H {
                        (padded + ((c * Dp + d + p.d) * Hp + h + p.h) * Wp + p.w).update(from: xn + ((c * D + d) * H + h) * W, count: W)
                    } } }
                    let yn = y + n * Cout * Do * Ho * Wo
                    for gr in 0..<groups {
                        let wg = wtp.baseAddress! + gr * taps * 2
                        let c0 = 2 * gr, has1 = c0 + 1 < Cout
                        for od in 0..<Do { for oh in 0..<Ho {
                            let base = padded + (od * Hp + oh) * Wp
                            let row0 = yn + ((c0 * Do + od) * Ho + oh) * Wo
                            let row1 = yn + (((c0 + 1) * Do + od) * Ho + oh) * Wo
                            if avx512 {
                                ck_direct_row2(base, op.baseAddress!, taps, wg, row0, has1 ? row1 : nil, Wo)
                                continue
                            }
                            for ch in 0..<chunksPerRow {
                                let ow = ch * 16
                                var a0 = V(repeating: 0), a1 = V(repeating: 0)
                                let src = UnsafeRawPointer(base + ow)
                                for t in 0..<taps {
                                    let v = src.loadUnaligned(fromByteOffset: op[t] * 4, as: V.self)
                                    a0 += wg[2 * t] * v   // not addProduct: without -target-cpu FMA that becomes a libm fmaf call per lane
                                    a1 += wg[2 * t + 1] * v
                                }
                                let count = min(16, Wo - ow)
                                if count == 16 {
                                    UnsafeMutableRawPointer(row0 + ow).storeBytes(of: a0, as: V.self)
                                    if has1 { UnsafeMutableRawPointer(row1 + ow).storeBytes(of: a1, as: V.self) }
                                } else {
                                    tail.withUnsafeMutableBufferPointer { tp in
                                        UnsafeMutableRawPointer(tp.baseAddress!).storeBytes(of: a0, as: V.self)
                                        UnsafeMutableRawPointer(tp.baseAddress! + 16).storeBytes(of: a1, as: V.self)
                                        (row0 + ow).update(from: tp.baseAddress!, count: count)
                                        if has1 { (row1 + ow).update(from: tp.baseAddress! + 16, count: count) }
                                    }
                                }
                            }
                        } }
                    }
                }
            }
        } }
    }

    /// dx of a stride-1 convolution = the correlation of dy (padded k − 1 − p) with the flipped
    /// kernel, channels exchanged.
    static func backwardData(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                             _ g: Conv3dGeometry, threads: Int) {
        let k = g.kernel
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let flipped = UnsafeMutablePointer<Float>.allocate(capacity: Cin * Cout * k.volume)
        defer { flipped.deallocate() }
        for ci in 0..<Cin { for co in 0..<Cout { for i in 0..<k.d { for j in 0..<k.h { for l in 0..<k.w {
            flipped[(((ci * Cout + co) * k.d + i) * k.h + j) * k.w + l] =
                w[(((co * Cin + ci) * k.d + (k.d - 1 - i)) * k.h + (k.h - 1 - j)) * k.w + (k.w - 1 - l)]
        } } } } }
        let adj = Conv3dGeometry(unchecked: g.batch, inChannels: Cout, outChannels: Cin, inSize: g.outSize, kernel: k,
                                 stride: 1, padding: Size3(k.d - 1 - g.padding.d, k.h - 1 - g.padding.h, k.w - 1 - g.padding.w),
                                 outSize: g.inSize)
        forward(dy, flipped, dx, adj, threads: threads)
    }

    /// dW[co, tap] = Σ over samples and output rows of dy[co, row] · x_padded[row shifted by tap].
    /// Blocks of 8 output rows; per tap two SIMD accumulators run over the block, then one
    /// horizontal sum. Per-thread partials are added in chunk order (deterministic per thread count).
    static func backwardWeight(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                               _ g: Conv3dGeometry, threads: Int) {
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Do, Ho, Wo) = (g.outSize.d, g.outSize.h, g.outSize.w)
        let k = g.kernel, p = g.padding
        let (Dp, Hp) = (D + 2 * p.d, H + 2 * p.h)
        let chunksPerRow = (Wo + 15) / 16
        let Wr = chunksPerRow * 16                     // dy row, zero-padded to whole vectors
        let Wp = Wr + k.w - 1
        let taps = Cin * k.volume
        let rowsTotal = Do * Ho
        var offsets = [Int](repeating: 0, count: taps)
        var t0 = 0
        for ci in 0..<Cin { for i in 0..<k.d { for j in 0..<k.h { for l in 0..<k.w {
            offsets[t0] = ((ci * Dp + i) * Hp + j) * Wp + l
            t0 += 1
        } } } }
        let chunks = Parallel.plan(work: g.batch, threads: threads)
        let wCount = Cout * taps
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: wCount * chunks)
        defer { partials.deallocate() }
        partials.update(repeating: 0, count: wCount * chunks)
        let avx512 = AVX512Loops.enabled   // CKernels: FMA, 8 accumulator chains
        offsets.withUnsafeBufferPointer { op in
            Parallel.chunks(g.batch, threads: chunks) { chunk, range in
                let acc = partials + chunk * wCount
                let padded = UnsafeMutablePointer<Float>.allocate(capacity: Cin * Dp * Hp * Wp)
                let dyPad = UnsafeMutablePointer<Float>.allocate(capacity: Cout * rowsTotal * Wr)
                let rowSrc = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 8)
                defer { padded.deallocate(); dyPad.deallocate(); rowSrc.deallocate() }
                padded.update(repeating: 0, count: Cin * Dp * Hp * Wp)
                dyPad.update(repeating: 0, count: Cout * rowsTotal * Wr)
                for n in range {
                    let xn = x + n * Cin * D * H * W
                    for c in 0..<Cin { for d in 0..<D { for h in 0..<H {
                        (padded + ((c * Dp + d + p.d) * Hp + h + p.h) * Wp + p.w).update(from: xn + ((c * D + d) * H + h) * W, count: W)
                    } } }
                    let dyn = dy + n * Cout * rowsTotal * Wo
                    for co in 0..<Cout { for q in 0..<rowsTotal {
                        (dyPad + (co * rowsTotal + q) * Wr).update(from: dyn + (co * rowsTotal + q) * Wo, count: Wo)
                    } }
                    for c0 in stride(from: 0, to: Cout, by: 2) {
                        let has1 = c0 + 1 < Cout
                        let dy0 = dyPad + c0 * rowsTotal * Wr
                        let dy1 = has1 ? dyPad + (c0 + 1) * rowsTotal * Wr : dy0
                        var rb = 0
                        while rb < rowsTotal {
                            let re = min(rowsTotal, rb + 8)
                            if avx512 {
                                for q in rb..<re {
                                    let od = q / Ho, oh = q - (q / Ho) * Ho
                                    rowSrc[q - rb] = UnsafePointer(padded + (od * Hp + oh) * Wp)
                                }
                                ck_direct_wgrad2(rowSrc, dy0 + rb * Wr, has1 ? dy1 + rb * Wr : nil, Wr, re - rb,
                                                   op.baseAddress!, taps, Wr, acc + c0 * taps, has1 ? acc + (c0 + 1) * taps : nil)
                                rb = re
                                continue
                            }
                            for t in 0..<taps {
                                var a0 = V(repeating: 0), a1 = V(repeating: 0)
                                for q in rb..<re {
                                    let od = q / Ho, oh = q - (q / Ho) * Ho
                                    let xr = UnsafeRawPointer(padded + (od * Hp + oh) * Wp + op[t])
                                    let r0 = UnsafeRawPointer(dy0 + q * Wr), r1 = UnsafeRawPointer(dy1 + q * Wr)
                                    for ch in 0..<chunksPerRow {
                                        let v = xr.loadUnaligned(fromByteOffset: ch * 64, as: V.self)
                                        a0 += r0.loadUnaligned(fromByteOffset: ch * 64, as: V.self) * v
                                        a1 += r1.loadUnaligned(fromByteOffset: ch * 64, as: V.self) * v
                                    }
                                }
                                acc[c0 * taps + t] += a0.sum()
                                if has1 { acc[(c0 + 1) * taps + t] += a1.sum() }
                            }
                            rb = re
                        }
                    }
                }
            }
        }
        Parallel.sumPartials(partials, count: wCount, chunks: chunks, into: dw)
    }
}
