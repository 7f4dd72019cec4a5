/// ConvTranspose3d forward by output phases (sub-pixel decomposition), a gather instead of the
/// adjoint conv's GEMM + col2vol scatter.
///
/// Output index o receives x[i]·w[k] where o = i·s − p + k. Split the outputs by phase
/// φ = o mod s (per axis): only the taps k ≡ (φ + p) mod s contribute, k = k₀ + t·s, reading
/// i = q + c − t for o = φ + s·q (c = (φ + p − k₀)/s). Each phase is therefore an ordinary
/// correlation over the input with (k/s)³ taps: a bounded vol2col of [Cin·taps, T] columns and one
/// GEMM [Cout × Cin·taps]·[Cin·taps × T] whose result is stored into every s-th output element.
/// For the decoder's k4 s2 p1 that is 8 phases of 2×2×2 taps: K = 8·Cin instead of an inner
/// dimension of Cin and a 64·Cout-row scatter.
enum ConvTransposePhases {
    struct Axis {
        let phase: Int, k0: Int, taps: Int, c: Int, count: Int
        init(phase φ: Int, kernel k: Int, stride s: Int, padding p: Int, out: Int) {
            phase = φ
            k0 = (φ + p) % s
            taps = k0 < k ? (k - k0 + s - 1) / s : 0
            c = (φ + p - k0) / s
            count = φ < out ? (out - φ + s - 1) / s : 0
        }
    }

    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        _ g: ConvTranspose3dGeometry, threads: Int, precision: Precision) {
        let s = g.stride, k = g.kernel, p = g.padding
        var phases: [(Axis, Axis, Axis)] = []
        for a in 0..<s.d { for b in 0..<s.h { for c in 0..<s.w {
            phases.append((Axis(phase: a, kernel: k.d, stride: s.d, padding: p.d, out: g.outSize.d),
                           Axis(phase: b, kernel: k.h, stride: s.h, padding: p.h, out: g.outSize.h),
                           Axis(phase: c, kernel: k.w, stride: s.w, padding: p.w, out: g.outSize.w)))
        } } }
        let Cin = g.inChannels, Cout = g.outChannels
        let inV = g.inSize.volume, outV = g.outSize.volume
        // Per-phase weight matrices Wφ[co, (ci, td, th, tw)] = w[ci, co, k0d + td·sd, …].
        let weights: [[Float]] = phases.map { (ad, ah, aw) in
            let K = Cin * ad.taps * ah.taps * aw.taps
            var m = [Float](repeating: 0, count: Cout * K)
            var col = 0
            for ci in 0..<Cin { for td in 0..<ad.taps { for th in 0..<ah.taps { for tw in 0..<aw.taps {
                let kd = ad.k0 + td * s.d, kh = ah.k0 + th * s.h, kw = aw.k0 + tw * s.w
                for co in 0..<Cout { m[co * K + col] = w[(((ci * Cout + co) * k.d + kd) * k.h + kh) * k.w + kw] }
                col += 1
            } } } }
            return m
        }
        let work = g.batch * phases.count
        let chunks = Parallel.plan(work: work, threads: threads)
        let gemmThreads = chunks == 1 ? threads : 1   // bf16 GEMM threads (fp32: OpenBLAS's)
        Parallel.chunks(work, threads: chunks) { _, range in
            for item in range {
                let n = item / phases.count, ph = item % phases.count
                let (ad, ah, aw) = phases[ph]
                let K = Cin * ad.taps * ah.taps * aw.taps
                let rowsTotal = ad.count * ah.count, Qw = aw.count
                if rowsTotal == 0 || Qw == 0 { continue }
                let yn = y + n * Cout * outV
                if K == 0 {   // no tap reaches this phase: zeros (bias is added by the caller)
                    for co in 0..<Cout { for qd in 0..<ad.count { for qh in 0..<ah.count {
                        let row = yn + ((co * g.outSize.d + ad.phase + s.d * qd) * g.outSize.h + ah.phase + s.h * qh) * g.outSize.w + aw.phase
                        for qw in 0..<Qw { row[qw * s.w] = 0 }
                    } } }
                    continue
                }
                let rows = max(1, min(rowsTotal, Vol2Col.budget / max(1, K * Qw)))
                let col = UnsafeMutablePointer<Float>.allocate(capacity: K * rows * Qw)
                let out = UnsafeMutablePointer<Float>.allocate(capacity: Cout * rows * Qw)
                defer { col.deallocate(); out.deallocate() }
                let xn = x + n * Cin * inV
                var r0 = 0
                while r0 < rowsTotal {
                    let rc = min(rows, rowsTotal - r0), T = rc * Qw
                    gather(xn, g, ad, ah, aw, rowStart: r0, rowCount: rc, col: col)
                    weights[ph].withUnsafeBufferPointer { wp in
                        Gemm.gemm(transA: false, transB: false, m: Cout, n: T, k: K, a: wp.baseAddress!, lda: K, b: col, ldb: T,
                                  beta: 0, c: out, ldc: T, precision: precision, threads: gemmThreads)
                    }
                    for co in 0..<Cout {
                        for rr in 0..<rc {
                            let q = r0 + rr, qd = q / ah.count, qh = q % ah.count
                            let dst = yn + ((co * g.outSize.d + ad.phase + s.d * qd) * g.outSize.h + ah.phase + s.h * qh) * g.outSize.w + aw.phase
                            let src = out + co * T + rr * Qw
                            for qw in 0..<Qw { dst[qw * s.w] = src[qw] }
                        }
                    }
                    r0 += rc
                }
            }
        }
    }

    /// col[(ci, td, th, tw), (row, qw)] = x[ci, qd + cd − td, qh + ch − th, qw + cw − tw] (0 outside).
    static func gather(_ x: UnsafePointer<Float>, _ g: ConvTranspose3dGeometry, _ ad: Axis, _ ah: Axis, _ aw: Axis,
                       rowStart: Int, rowCount: Int, col: UnsafeMutablePointer<Float>) {
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let Qw = aw.count, T = rowCount * Qw
        var r = 0
        for ci in 0..<g.inChannels {
            for td in 0..<ad.taps { for th in 0..<ah.taps { for tw in 0..<aw.taps {
                let dst = col + r * T
                r += 1
                // iw = qw + cw − tw ∈ [0, W)  ⇔  qw ∈ [tw − cw, W + tw − cw)
                let lo = max(0, tw - aw.c), hi = min(Qw, W + tw - aw.c)
                for rr in 0..<rowCount {
                    let q = rowStart + rr, qd = q / ah.count, qh = q % ah.count
                    let id = qd + ad.c - td, ih = qh + ah.c - th
                    let o = dst + rr * Qw
                    if id < 0 || id >= D || ih < 0 || ih >= H || lo >= hi {
                        for qw in 0..<Qw { o[qw] = 0 }
                        continue
                    }
                    for qw in 0..<lo { o[qw] = 0 }
                    for qw in hi..<Qw { o[qw] = 0 }
                    let src = x + ((ci * D + id) * H + ih) * W + aw.c - tw
                    for qw in lo..<hi { o[qw] = src[qw] }
                }
            } } }
        }
    }
}
