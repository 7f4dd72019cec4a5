import CKernels

/// The decoder's ConvTranspose3d (kernel 4, stride 2, padding 1) computed directly by the AVX-512F
/// loops of CKernels — forward, data gradient and weight gradient — from NCDHW rows: both output
/// phases along W come from one input row, weights are broadcast and the accumulators stay in
/// registers; no vol2col, GEMM packing or strided scatter. Measured on the full-resolution 16→16
/// layer at 64³ (RunnerBench stage1 profile): see docs/performance.md.
enum DeconvK4S2 {
    enum Pass { case forward, data, weight }

    /// Whether these kernels compute `pass` of the layer: fp32 on an AVX-512F CPU, k4 s2 p1 without
    /// output padding, input rows of whole 16-float vectors, and channel counts that fill the
    /// register blocks (4 output channels forward, 8 / 4 input channels for the gradients).
    static func handles(_ pass: Pass, _ g: ConvTranspose3dGeometry, _ precision: Precision) -> Bool {
        guard precision == .fp32, AVX512Loops.enabled, g.kernel == Size3(4), g.stride == Size3(2), g.padding == Size3(1),
              g.outputPadding == Size3(0), g.inSize.w % 16 == 0 else { return false }
        switch pass {
        case .forward: return g.outChannels % 4 == 0
        case .data: return g.inChannels % 8 == 0
        case .weight: return g.inChannels % 4 == 0
        }
    }

    /// y[N, Cout, 2D, 2H, 2W] (no bias); threads split the samples' output planes.
    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        _ g: ConvTranspose3dGeometry, threads: Int) {
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let inPer = Cin * g.inSize.volume, outPer = Cout * g.outSize.volume
        let planes = g.outSize.d
        Parallel.planeRuns(batch: g.batch, planes: planes, chunks: Parallel.plan(work: g.batch * planes, threads: threads)) { _, n, start, end, _ in
            ck_deconv_k4s2p1_forward(x + n * inPer, w, y + n * outPer, Cin, Cout, D, H, W, start, end)
        }
    }

    /// dx[N, Cin, D, H, W] from dy[N, Cout, 2D, 2H, 2W]; threads split the samples' input planes.
    static func backwardData(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                             _ g: ConvTranspose3dGeometry, threads: Int) {
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let inPer = Cin * g.inSize.volume, outPer = Cout * g.outSize.volume
        Parallel.planeRuns(batch: g.batch, planes: D, chunks: Parallel.plan(work: g.batch * D, threads: threads)) { _, n, start, end, _ in
            ck_deconv_k4s2p1_backward_data(dy + n * outPer, w, dx + n * inPer, Cin, Cout, D, H, W, start, end)
        }
    }

    /// dw[Cin, Cout, 4, 4, 4] (overwritten). Each thread accumulates its planes into its own partial
    /// sum; the partials are added in thread order, so the result is the same from run to run at a
    /// given thread count.
    static func backwardWeight(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                               _ g: ConvTranspose3dGeometry, threads: Int) {
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let inPer = Cin * g.inSize.volume, outPer = Cout * g.outSize.volume
        let wCount = Cin * Cout * 64
        let chunks = Parallel.plan(work: g.batch * D, threads: threads)
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: wCount * chunks)
        defer { partials.deallocate() }
        partials.update(repeating: 0, count: wCount * chunks)
        // The even/odd split of the dy planes a range reads (see ck_deconv_k4s2p1_backward_weight).
        let scratch = 2 * Cout * (2 * D) * (2 * H) * (W + 1)
        Parallel.planeRuns(batch: g.batch, planes: D, chunks: chunks, scratch: scratch) { chunk, n, start, end, buffer in
            ck_deconv_k4s2p1_backward_weight(x + n * inPer, dy + n * outPer, buffer, partials + chunk * wCount,
                                             Cin, Cout, D, H, W, start, end)
        }
        Parallel.sumPartials(partials, count: wCount, chunks: chunks, into: dw)
    }
}
