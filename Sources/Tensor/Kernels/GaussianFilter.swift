import Foundation

/// Separable "valid" filtering of [N, C, D, H, W] with one 1D window applied along D, H and W
/// (each channel on its own). Output size n − k + 1 per axis. With a normalised Gaussian window
/// (11, σ 1.5) this is exactly the filtered interior that scikit-image's 3D SSIM keeps after
/// cropping (k − 1)/2 on each side — 3·k multiply-adds per voxel instead of k³ for a conv3d.
public enum GaussianFilterKernel {
    /// The normalised Gaussian window exp(−(i − c)²/(2σ²)), i = 0..<size.
    public static func window(size: Int, sigma: Float) -> [Float] {
        let c = Double(size - 1) / 2
        let w = (0..<size).map { i -> Double in let d = Double(i) - c; return Foundation.exp(-d * d / (2 * Double(sigma * sigma))) }
        let s = w.reduce(0, +)
        return w.map { Float($0 / s) }
    }

    public static func forward(_ x: Tensor, window: [Float]) throws -> Tensor {
        let k = window.count
        guard x.rank == 5, k >= 1, x.shape[2] >= k, x.shape[3] >= k, x.shape[4] >= k else {
            throw TensorError.shapeMismatch(op: "gaussianFilter3d", shapes: [x.shape, [k]], reason: "input must be [N, C, D, H, W] with every spatial size ≥ the window")
        }
        var t = x
        for axis in 2...4 { t = filterValid(t, axis: axis, window: window) }
        return t
    }

    public static func backward(_ dy: Tensor, inputShape: [Int], window: [Float]) throws -> Tensor {
        let k = window.count
        guard inputShape.count == 5, dy.shape == [inputShape[0], inputShape[1], inputShape[2] - k + 1, inputShape[3] - k + 1, inputShape[4] - k + 1] else {
            throw TensorError.shapeMismatch(op: "gaussianFilter3d backward", shapes: [dy.shape, inputShape], reason: "gradient does not fit the input")
        }
        var t = dy
        for axis in (2...4).reversed() { t = filterAdjoint(t, axis: axis, window: window) }
        return t
    }

    /// out[o, i, r] = Σ_t w[t]·x[o, i + t, r] along `axis`.
    static func filterValid(_ x: Tensor, axis: Int, window w: [Float]) -> Tensor {
        let n = x.shape[axis], k = w.count, m = n - k + 1
        let outer = x.shape[..<axis].reduce(1, *), inner = x.shape[(axis + 1)...].reduce(1, *)
        var s = x.shape
        s[axis] = m
        var y = Tensor(shape: s)
        x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
            for o in 0..<outer {
                for i in 0..<m {
                    let dst = yp.baseAddress! + (o * m + i) * inner
                    for t in 0..<k {
                        let src = xp.baseAddress! + (o * n + i + t) * inner, wt = w[t]
                        for r in 0..<inner { dst[r] += wt * src[r] }
                    }
                }
            }
        } }
        return y
    }

    /// The adjoint: dx[o, i + t, r] += w[t]·dy[o, i, r].
    static func filterAdjoint(_ dy: Tensor, axis: Int, window w: [Float]) -> Tensor {
        let m = dy.shape[axis], k = w.count, n = m + k - 1
        let outer = dy.shape[..<axis].reduce(1, *), inner = dy.shape[(axis + 1)...].reduce(1, *)
        var s = dy.shape
        s[axis] = n
        var dx = Tensor(shape: s)
        dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dp in
            for o in 0..<outer {
                for i in 0..<m {
                    let src = gp.baseAddress! + (o * m + i) * inner
                    for t in 0..<k {
                        let dst = dp.baseAddress! + (o * n + i + t) * inner, wt = w[t]
                        for r in 0..<inner { dst[r] += wt * src[r] }
                    }
                }
            }
        } }
        return dx
    }
}
