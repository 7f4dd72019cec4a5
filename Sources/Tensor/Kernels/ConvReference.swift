/// Naive nested-loop twins of the convolution kernels: slow, obviously correct, used by the tests
/// to check the tiled vol2col + GEMM kernels on random shapes. Accumulate in Double.
public enum Conv3dReference {
    public static func forward(_ x: Tensor, weight w: Tensor, bias: Tensor?, geometry g: Conv3dGeometry) -> Tensor {
        var y = Tensor(shape: g.outputShape)
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Do, Ho, Wo) = (g.outSize.d, g.outSize.h, g.outSize.w)
        let k = g.kernel, s = g.stride, p = g.padding
        for n in 0..<g.batch { for co in 0..<g.outChannels {
            for od in 0..<Do { for oh in 0..<Ho { for ow in 0..<Wo {
                var acc = Double(bias?[flat: co] ?? 0)
                for ci in 0..<g.inChannels { for i in 0..<k.d { for j in 0..<k.h { for l in 0..<k.w {
                    let id = od * s.d - p.d + i, ih = oh * s.h - p.h + j, iw = ow * s.w - p.w + l
                    if id < 0 || id >= D || ih < 0 || ih >= H || iw < 0 || iw >= W { continue }
                    acc += Double(x[flat: (((n * g.inChannels + ci) * D + id) * H + ih) * W + iw])
                        * Double(w[flat: (((co * g.inChannels + ci) * k.d + i) * k.h + j) * k.w + l])
                } } } }
                y[flat: (((n * g.outChannels + co) * Do + od) * Ho + oh) * Wo + ow] = Float(acc)
            } } }
        } }
        return y
    }

    public static func backwardData(_ dy: Tensor, weight w: Tensor, geometry g: Conv3dGeometry) -> Tensor {
        var dx = [Double](repeating: 0, count: g.inputShape.reduce(1, *))
        visit(g) { n, co, ci, o, xi, wi in
            dx[xi] += Double(dy[flat: o]) * Double(w[flat: wi])
            _ = (n, co, ci)
        }
        return Tensor(uncheckedShape: g.inputShape, storage: dx.map { Float($0) })
    }

    public static func backwardWeight(_ x: Tensor, outputGradient dy: Tensor, geometry g: Conv3dGeometry) -> (weight: Tensor, bias: Tensor) {
        var dw = [Double](repeating: 0, count: g.weightShape.reduce(1, *))
        visit(g) { _, _, _, o, xi, wi in dw[wi] += Double(dy[flat: o]) * Double(x[flat: xi]) }
        var db = [Double](repeating: 0, count: g.outChannels)
        let P = g.outSize.volume
        for n in 0..<g.batch { for c in 0..<g.outChannels { for q in 0..<P {
            db[c] += Double(dy[flat: (n * g.outChannels + c) * P + q])
        } } }
        return (Tensor(uncheckedShape: g.weightShape, storage: dw.map { Float($0) }),
                Tensor(uncheckedShape: [g.outChannels], storage: db.map { Float($0) }))
    }

    /// Calls body(n, co, ci, outputIndex, inputIndex, weightIndex) for every in-range product.
    static func visit(_ g: Conv3dGeometry, _ body: (Int, Int, Int, Int, Int, Int) -> Void) {
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Do, Ho, Wo) = (g.outSize.d, g.outSize.h, g.outSize.w)
        let k = g.kernel, s = g.stride, p = g.padding
        for n in 0..<g.batch { for co in 0..<g.outChannels {
            for od in 0..<Do { for oh in 0..<Ho { for ow in 0..<Wo {
                let o = (((n * g.outChannels + co) * Do + od) * Ho + oh) * Wo + ow
                for ci in 0..<g.inChannels { for i in 0..<k.d { for j in 0..<k.h { for l in 0..<k.w {
                    let id = od * s.d - p.d + i, ih = oh * s.h - p.h + j, iw = ow * s.w - p.w + l
                    if id < 0 || id >= D || ih < 0 || ih >= H || iw < 0 || iw >= W { continue }
                    body(n, co, ci, o, (((n * g.inChannels + ci) * D + id) * H + ih) * W + iw,
                         (((co * g.inChannels + ci) * k.d + i) * k.h + j) * k.w + l)
                } } } }
            } } }
        } }
    }
}

/// Naive twin of ConvTranspose3d, written directly from its definition (a scatter):
/// y[n, co, i·s − p + k] += x[n, ci, i] · w[ci, co, k].
public enum ConvTranspose3dReference {
    public static func forward(_ x: Tensor, weight w: Tensor, bias: Tensor?, geometry g: ConvTranspose3dGeometry) -> Tensor {
        var y = [Double](repeating: 0, count: g.outputShape.reduce(1, *))
        visit(g) { o, xi, wi in y[o] += Double(x[flat: xi]) * Double(w[flat: wi]) }
        let P = g.outSize.volume
        if let b = bias {
            for n in 0..<g.batch { for c in 0..<g.outChannels { for q in 0..<P { y[(n * g.outChannels + c) * P + q] += Double(b[flat: c]) } } }
        }
        return Tensor(uncheckedShape: g.outputShape, storage: y.map { Float($0) })
    }

    public static func backwardData(_ dy: Tensor, weight w: Tensor, geometry g: ConvTranspose3dGeometry) -> Tensor {
        var dx = [Double](repeating: 0, count: g.inputShape.reduce(1, *))
        visit(g) { o, xi, wi in dx[xi] += Double(dy[flat: o]) * Double(w[flat: wi]) }
        return Tensor(uncheckedShape: g.inputShape, storage: dx.map { Float($0) })
    }

    public static func backwardWeight(_ x: Tensor, outputGradient dy: Tensor, geometry g: ConvTranspose3dGeometry) -> (weight: Tensor, bias: Tensor) {
        var dw = [Double](repeating: 0, count: g.weightShape.reduce(1, *))
        visit(g) { o, xi, wi in dw[wi] += Double(dy[flat: o]) * Double(x[flat: xi]) }
        var db = [Double](repeating: 0, count: g.outChannels)
        let P = g.outSize.volume
        for n in 0..<g.batch { for c in 0..<g.outChannels { for q in 0..<P { db[c] += Double(dy[flat: (n * g.outChannels + c) * P + q]) } } }
        return (Tensor(uncheckedShape: g.weightShape, storage: dw.map { Float($0) }),
                Tensor(uncheckedShape: [g.outChannels], storage: db.map { Float($0) }))
    }

    /// Calls body(outputIndex, inputIndex, weightIndex) for every in-range product.
    static func visit(_ g: ConvTranspose3dGeometry, _ body: (Int, Int, Int) -> Void) {
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Do, Ho, Wo) = (g.outSize.d, g.outSize.h, g.outSize.w)
        let k = g.kernel, s = g.stride, p = g.padding
        for n in 0..<g.batch { for ci in 0..<g.inChannels {
            for id in 0..<D { for ih in 0..<H { for iw in 0..<W {
                let xi = (((n * g.inChannels + ci) * D + id) * H + ih) * W + iw
                for co in 0..<g.outChannels { for i in 0..<k.d { for j in 0..<k.h { for l in 0..<k.w {
                    let od = id * s.d - p.d + i, oh = ih * s.h - p.h + j, ow = iw * s.w - p.w + l
                    if od < 0 || od >= Do || oh < 0 || oh >= Ho || ow < 0 || ow >= Wo { continue }
                    body((((n * g.outChannels + co) * Do + od) * Ho + oh) * Wo + ow, xi,
                         (((ci * g.outChannels + co) * k.d + i) * k.h + j) * k.w + l)
                } } } }
            } } }
        } }
    }
}
