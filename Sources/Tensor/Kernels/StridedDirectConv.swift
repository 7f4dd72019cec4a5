import CKernels

/// Conv3d with stride 2 on every axis, few input and many output channels — the encoder's first
/// layer (2→16, kernel 7, padding 3, 64³ → 32³) — computed directly by the AVX-512F loops of
/// CKernels from even/odd-split input rows: its vol2col would expand the input 86-fold (K = 686)
/// for a GEMM of only 16 rows. Forward and weight gradient; the data gradient (not needed for a
/// network's input) keeps the vol2col path.
enum StridedDirectConv {
    /// fp32 on an AVX-512F CPU, stride 2 everywhere, ≤ 8 input channels, output channels in blocks
    /// of 8 and output rows of whole 16-float vectors.
    static func handles(_ g: Conv3dGeometry, _ precision: Precision) -> Bool {
        precision == .fp32 && AVX512Loops.enabled && g.stride == Size3(2) && g.inChannels <= 8
            && g.outChannels % 8 == 0 && g.outSize.w % 16 == 0
    }

    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        _ g: Conv3dGeometry, threads: Int) {
        var c = geometry(g)
        let inPer = g.inChannels * g.inSize.volume, outPer = g.outChannels * g.outSize.volume
        let planes = g.outSize.d
        Parallel.planeRuns(batch: g.batch, planes: planes, chunks: Parallel.plan(work: g.batch * planes, threads: threads),
                           scratch: scratchCount(&c)) { _, n, start, end, scratch in
            ck_conv_s2_forward(x + n * inPer, w, y + n * outPer, scratch, &c, start, end)
        }
    }

    /// dw [Cout, Cin, kd, kh, kw] (overwritten); per-thread partials added in thread order.
    static func backwardWeight(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                               _ g: Conv3dGeometry, threads: Int) {
        var c = geometry(g)
        let inPer = g.inChannels * g.inSize.volume, outPer = g.outChannels * g.outSize.volume
        let planes = g.outSize.d
        let wCount = g.outChannels * g.patchSize
        let chunks = Parallel.plan(work: g.batch * planes, threads: threads)
        let partials = UnsafeMutablePointer<Float>.allocate(capacity: wCount * chunks)
        defer { partials.deallocate() }
        partials.update(repeating: 0, count: wCount * chunks)
        Parallel.planeRuns(batch: g.batch, planes: planes, chunks: chunks, scratch: scratchCount(&c)) { chunk, n, start, end, scratch in
            ck_conv_s2_backward_weight(x + n * inPer, dy + n * outPer, partials + chunk * wCount, scratch, &c, start, end)
        }
        Parallel.sumPartials(partials, count: wCount, chunks: chunks, into: dw)
    }

    private static func geometry(_ g: Conv3dGeometry) -> ck_conv_s2_geometry {
        ck_conv_s2_geometry(Cin: g.inChannels, Cout: g.outChannels, D: g.inSize.d, H: g.inSize.h, W: g.inSize.w,
                            Do: g.outSize.d, Ho: g.outSize.h, Wo: g.outSize.w, kd: g.kernel.d, kh: g.kernel.h, kw: g.kernel.w,
                            pd: g.padding.d, ph: g.padding.h, pw: g.padding.w)
    }

    /// The even/odd split rows of one sample (both halves).
    private static func scratchCount(_ c: inout ck_conv_s2_geometry) -> Int {
        2 * c.Cin * c.D * c.H * ck_conv_s2_split_row_length(&c)
    }
}
