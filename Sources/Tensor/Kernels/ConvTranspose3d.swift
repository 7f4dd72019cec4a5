/// ConvTranspose3d as the adjoint of Conv3d (weight [Cin, Cout, kD, kH, kW], PyTorch's layout):
/// forward = Conv3d's data gradient, data gradient = Conv3d's forward, weight gradient = Conv3d's
/// weight gradient with input and output exchanged. Naive twin: `ConvTranspose3dReference`.
public enum ConvTranspose3dKernel {
    /// y[N, Cout, D', H', W'] = convTranspose(x, w) + bias.
    public static func forward(_ x: Tensor, weight w: Tensor, bias: Tensor?, geometry g: ConvTranspose3dGeometry,
                               threads: Int = 1, precision: Precision = .fp32) throws -> Tensor {
        try check(x.shape, g.inputShape, "input")
        try check(w.shape, g.weightShape, "weight")
        if let b = bias { try check(b.shape, [g.outChannels], "bias") }
        let a = g.adjointConv
        var y = Tensor(uninitializedShape: g.outputShape)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    if DeconvK4S2.handles(.forward, g, precision) {
                        DeconvK4S2.forward(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, g, threads: threads)
                    } else if usePhases(g) {
                        ConvTransposePhases.forward(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, g, threads: threads, precision: precision)
                    } else {
                        Conv3dKernel.backwardDataRaw(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, a, threads: threads, precision: precision)
                    }
                }
            }
        }
        if let b = bias { Conv3dKernel.addChannelBias(&y, b, channels: g.outChannels, spatial: g.outSize.volume) }
        return y
    }

    /// dx[N, Cin, D, H, W] from dy[N, Cout, D', H', W'].
    public static func backwardData(_ dy: Tensor, weight w: Tensor, geometry g: ConvTranspose3dGeometry,
                                    threads: Int = 1, precision: Precision = .fp32) throws -> Tensor {
        try check(dy.shape, g.outputShape, "output gradient")
        try check(w.shape, g.weightShape, "weight")
        var dx = Tensor(uninitializedShape: g.inputShape)
        dy.withUnsafeBufferPointer { dyp in
            w.withUnsafeBufferPointer { wp in
                dx.withUnsafeMutableBufferPointer { dxp in
                    if DeconvK4S2.handles(.data, g, precision) {
                        DeconvK4S2.backwardData(dyp.baseAddress!, wp.baseAddress!, dxp.baseAddress!, g, threads: threads)
                        return
                    }
                    Conv3dKernel.forwardRaw(dyp.baseAddress!, wp.baseAddress!, dxp.baseAddress!, g.adjointConv, threads: threads, precision: precision)
                }
            }
        }
        return dx
    }

    /// (dw [Cin, Cout, kD, kH, kW], db [Cout]).
    public static func backwardWeight(_ x: Tensor, outputGradient dy: Tensor, geometry g: ConvTranspose3dGeometry,
                                      threads: Int = 1, precision: Precision = .fp32) throws -> (weight: Tensor, bias: Tensor) {
        try check(x.shape, g.inputShape, "input")
        try check(dy.shape, g.outputShape, "output gradient")
        var dw = Tensor(shape: g.weightShape)
        x.withUnsafeBufferPointer { xp in
            dy.withUnsafeBufferPointer { dyp in
                dw.withUnsafeMutableBufferPointer { dwp in
                    if DeconvK4S2.handles(.weight, g, precision) {
                        DeconvK4S2.backwardWeight(xp.baseAddress!, dyp.baseAddress!, dwp.baseAddress!, g, threads: threads)
                        return
                    }
                    // In the adjoint conv, dy is the input and x the output (gradient).
                    Conv3dKernel.backwardWeightRaw(dyp.baseAddress!, xp.baseAddress!, dwp.baseAddress!, g.adjointConv, threads: threads, precision: precision)
                }
            }
        }
        return (dw, Conv3dKernel.channelSums(dy, channels: g.outChannels, spatial: g.outSize.volume))
    }

    /// The phase (gather) forward when the stride splits the kernel into several taps per phase
    /// (k4 s2: 8 phases × 2³ taps) and the input is large. Measured (RunnerBench, batch 4): 1.2× the
    /// adjoint path for 16→16 @32³, but 0.3–0.8× on the small decoder layers, whose per-phase
    /// GEMMs are too narrow (N = input volume) and whose weights are large to reorganise.
    static func usePhases(_ g: ConvTranspose3dGeometry) -> Bool {
        g.stride != Size3(1) && g.kernel.d >= g.stride.d && g.kernel.h >= g.stride.h && g.kernel.w >= g.stride.w
            && g.inSize.volume >= 16_384
    }

    /// The phase-decomposition forward regardless of size (for tests and benchmarks).
    public static func forwardByPhases(_ x: Tensor, weight w: Tensor, geometry g: ConvTranspose3dGeometry,
                                       threads: Int = 1, precision: Precision = .fp32) throws -> Tensor {
        try check(x.shape, g.inputShape, "input")
        try check(w.shape, g.weightShape, "weight")
        var y = Tensor(uninitializedShape: g.outputShape)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
            ConvTransposePhases.forward(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, g, threads: threads, precision: precision)
        } } }
        return y
    }

    /// The adjoint-conv (GEMM + col2vol) forward, kept as the second fast path and for comparisons.
    public static func forwardByAdjoint(_ x: Tensor, weight w: Tensor, geometry g: ConvTranspose3dGeometry,
                                        threads: Int = 1, precision: Precision = .fp32) throws -> Tensor {
        try check(x.shape, g.inputShape, "input")
        try check(w.shape, g.weightShape, "weight")
        var y = Tensor(uninitializedShape: g.outputShape)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
            Conv3dKernel.backwardDataRaw(xp.baseAddress!, wp.baseAddress!, yp.baseAddress!, g.adjointConv, threads: threads, precision: precision)
        } } }
        return y
    }

    static func check(_ actual: [Int], _ expected: [Int], _ what: String) throws {
        guard actual == expected else {
            throw TensorError.shapeMismatch(op: "convTranspose3d", shapes: [actual, expected],
                                            reason: "\(what) does not fit the geometry (expected \(expected))")
        }
    }
}
