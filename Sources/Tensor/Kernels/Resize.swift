/// Trilinear resize of [N, C, D, H, W] to a given size, align_corners=False — PyTorch's
/// `F.interpolate(mode="trilinear", size=…)`: src = (dst + 0.5)·in/out − 0.5, clamped at 0;
/// the upper neighbour is clamped to the last index.
public enum TrilinearResizeKernel {
    struct Axis {
        var i0: [Int], i1: [Int], l0: [Float], l1: [Float]
        init(input n: Int, output m: Int) {
            i0 = []; i1 = []; l0 = []; l1 = []
            let scale = Float(n) / Float(m)
            for o in 0..<m {
                let src = max(0, scale * (Float(o) + 0.5) - 0.5)
                let a = Int(src)
                let lambda = src - Float(a)
                i0.append(a); i1.append(a < n - 1 ? a + 1 : a)
                l1.append(lambda); l0.append(1 - lambda)
            }
        }
    }

    static func check(_ shape: [Int], _ size: Size3) throws {
        guard shape.count == 5, shape.allSatisfy({ $0 > 0 }), size.allPositive else {
            throw TensorError.shapeMismatch(op: "trilinearResize", shapes: [shape, size.array], reason: "input must be a non-empty [N, C, D, H, W] and the size positive")
        }
    }

    public static func forward(_ x: Tensor, size: Size3) throws -> Tensor {
        try check(x.shape, size)
        let inS = Size3(x.shape[2], x.shape[3], x.shape[4])
        if inS == size { return x }
        let (ad, ah, aw) = (Axis(input: inS.d, output: size.d), Axis(input: inS.h, output: size.h), Axis(input: inS.w, output: size.w))
        let planes = x.shape[0] * x.shape[1]
        var y = Tensor(shape: [x.shape[0], x.shape[1]] + size.array)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            var q = 0
            for plane in 0..<planes {
                let src = xp.baseAddress! + plane * inS.volume
                for od in 0..<size.d { for oh in 0..<size.h {
                    let r00 = (ad.i0[od] * inS.h + ah.i0[oh]) * inS.w, r01 = (ad.i0[od] * inS.h + ah.i1[oh]) * inS.w
                    let r10 = (ad.i1[od] * inS.h + ah.i0[oh]) * inS.w, r11 = (ad.i1[od] * inS.h + ah.i1[oh]) * inS.w
                    let (d0, d1, h0, h1) = (ad.l0[od], ad.l1[od], ah.l0[oh], ah.l1[oh])
                    for ow in 0..<size.w {
                        let (w0, w1, a, b) = (aw.l0[ow], aw.l1[ow], aw.i0[ow], aw.i1[ow])
                        yp[q] = d0 * (h0 * (w0 * src[r00 + a] + w1 * src[r00 + b]) + h1 * (w0 * src[r01 + a] + w1 * src[r01 + b]))
                              + d1 * (h0 * (w0 * src[r10 + a] + w1 * src[r10 + b]) + h1 * (w0 * src[r11 + a] + w1 * src[r11 + b]))
                        q += 1
                    }
                } }
            }
        } }
        return y
    }

    public static func backward(_ dy: Tensor, inputShape: [Int]) throws -> Tensor {
        guard inputShape.count == 5, dy.rank == 5, dy.shape[0] == inputShape[0], dy.shape[1] == inputShape[1] else {
            throw TensorError.shapeMismatch(op: "trilinearResize backward", shapes: [dy.shape, inputShape], reason: "gradient does not fit the input")
        }
        let inS = Size3(inputShape[2], inputShape[3], inputShape[4]), size = Size3(dy.shape[2], dy.shape[3], dy.shape[4])
        if inS == size { return dy }
        let (ad, ah, aw) = (Axis(input: inS.d, output: size.d), Axis(input: inS.h, output: size.h), Axis(input: inS.w, output: size.w))
        let planes = inputShape[0] * inputShape[1]
        var dx = Tensor(shape: inputShape)
        dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
            var q = 0
            for plane in 0..<planes {
                let dst = dp.baseAddress! + plane * inS.volume
                for od in 0..<size.d { for oh in 0..<size.h {
                    let r00 = (ad.i0[od] * inS.h + ah.i0[oh]) * inS.w, r01 = (ad.i0[od] * inS.h + ah.i1[oh]) * inS.w
                    let r10 = (ad.i1[od] * inS.h + ah.i0[oh]) * inS.w, r11 = (ad.i1[od] * inS.h + ah.i1[oh]) * inS.w
                    let (d0, d1, h0, h1) = (ad.l0[od], ad.l1[od], ah.l0[oh], ah.l1[oh])
                    for ow in 0..<size.w {
                        let (w0, w1, a, b) = (aw.l0[ow], aw.l1[ow], aw.i0[ow], aw.i1[ow])
                        let g = gp[q]
                        q += 1
                        dst[r00 + a] += d0 * h0 * w0 * g; dst[r00 + b] += d0 * h0 * w1 * g
                        dst[r01 + a] += d0 * h1 * w0 * g; dst[r01 + b] += d0 * h1 * w1 * g
                        dst[r10 + a] += d1 * h0 * w0 * g; dst[r10 + b] += d1 * h0 * w1 * g
                        dst[r11 + a] += d1 * h1 * w0 * g; dst[r11 + b] += d1 * h1 * w1 * g
                    }
                } }
            }
        } }
        return dx
    }
}
