import CKernels

/// The decoder's ConvTranspose3d (kernel 4, stride 2, padding 1) computed directly by the AVX-512F
/// loops of CKernels: both output phases along W from one input row, weights broadcast, 16
/// accumulators in registers — no vol2col, GEMM packing or strided scatter. Measured on the
/// full-resolution 16→16 layer at 64³ (RunnerBench stage1 profile): see docs/performance.md.
enum DeconvK4S2 {
    static func eligible(_ g: ConvTranspose3dGeometry) -> Bool {
        isK4S2P1(g) && g.inSize.w % 16 == 0 && g.outChannels % 4 == 0
    }

    static func eligibleBackwardData(_ g: ConvTranspose3dGeometry) -> Bool {
        isK4S2P1(g) && g.inSize.w % 16 == 0 && g.inChannels % 8 == 0
    }

    private static func isK4S2P1(_ g: ConvTranspose3dGeometry) -> Bool {
        g.kernel == Size3(4) && g.stride == Size3(2) && g.padding == Size3(1) && g.outputPadding == Size3(0)
    }

    /// y[N, Cout, 2D, 2H, 2W] (no bias); threads split the samples' output planes.
    static func forward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        _ g: ConvTranspose3dGeometry, threads: Int) {
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let planes = g.outSize.d
        let inPer = Cin * g.inSize.volume, outPer = Cout * g.outSize.volume
        forEachPlaneRange(batch: g.batch, planes: planes, threads: threads) { n, start, end in
            ck_deconv_k4s2p1_forward(x + n * inPer, w, y + n * outPer, Cin, Cout, D, H, W, start, end)
        }
    }

    /// dx[N, Cin, D, H, W] from dy[N, Cout, 2D, 2H, 2W]; threads split the samples' input planes.
    static func backwardData(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
                             _ g: ConvTranspose3dGeometry, threads: Int) {
        let (Cin, Cout) = (g.inChannels, g.outChannels)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let inPer = Cin * g.inSize.volume, outPer = Cout * g.outSize.volume
        forEachPlaneRange(batch: g.batch, planes: D, threads: threads) { n, start, end in
            ck_deconv_k4s2p1_backward_data(dy + n * outPer, w, dx + n * inPer, Cin, Cout, D, H, W, start, end)
        }
    }

    /// Splits batch × planes into one contiguous range per thread and calls `body(sample, first, end)`
    /// for each run of planes of one sample inside it.
    private static func forEachPlaneRange(batch: Int, planes: Int, threads: Int, _ body: (Int, Int, Int) -> Void) {
        let work = batch * planes
        Parallel.chunks(work, threads: Parallel.plan(work: work, threads: threads)) { _, range in
            var item = range.lowerBound
            while item < range.upperBound {
                let n = item / planes, start = item % planes
                let end = min(planes, start + range.upperBound - item)
                body(n, start, end)
                item += end - start
            }
        }
    }
}
