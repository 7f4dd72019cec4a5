// Evaluation metrics in Double, accumulated over batches: RMSE (overall and per channel, in the
// volumes' raw units), PSNR = 20·log10(range / RMSE), and 3D SSIM as scikit-image computes it
// (per (sample, channel) volume, then averaged).
import Foundation
import Tensor

public struct VolumeMetrics: Codable, Equatable, Sendable {
    public var rmse: Double
    public var rmsePerChannel: [Double]
    public var psnr: Double
    public var psnrPerChannel: [Double]
    public var ssim: Double
    public var ssimPerChannel: [Double]
    public var volumes: Int
}

/// Sums squared errors and SSIMs batch by batch; `result()` gives the metrics over all of them.
public struct MetricAccumulator: Sendable {
    public let dataRange: Double
    private var squaredError: [Double] = []
    private var voxelsPerChannel: [Int] = []
    private var ssimSum: [Double] = []
    private var volumeCount = 0
    private let computeSSIM: Bool

    public init(dataRange: Double = 1.0, ssim: Bool = true) {
        self.dataRange = dataRange
        self.computeSSIM = ssim
    }

    public mutating func add(prediction: Tensor, target: Tensor) throws {
        guard prediction.shape == target.shape, prediction.rank == 5 else {
            throw LossError.shapeMismatch(prediction: prediction.shape, target: target.shape)
        }
        let (n, c) = (prediction.shape[0], prediction.shape[1])
        let spatial = Array(prediction.shape[2...])
        let v = spatial.reduce(1, *)
        if squaredError.isEmpty {
            squaredError = [Double](repeating: 0, count: c)
            voxelsPerChannel = [Int](repeating: 0, count: c)
            ssimSum = [Double](repeating: 0, count: c)
        }
        guard squaredError.count == c else { throw LossError.invalid("batches with \(squaredError.count) and \(c) channels") }
        if computeSSIM && !spatial.allSatisfy({ $0 >= SSIMWindow.size }) {
            throw LossError.invalid("SSIM needs every spatial size ≥ \(SSIMWindow.size) (got \(prediction.shape))")
        }
        try prediction.withUnsafeBufferPointer { p in
            try target.withUnsafeBufferPointer { t in
                for s in 0..<n {
                    for ch in 0..<c {
                        let base = (s * c + ch) * v
                        var acc = 0.0
                        for i in 0..<v {
                            let d = Double(p[base + i]) - Double(t[base + i])
                            acc += d * d
                        }
                        guard acc.isFinite else { throw LossError.nonFinite(term: "squared error of sample \(s) channel \(ch)") }
                        squaredError[ch] += acc
                        voxelsPerChannel[ch] += v
                        if computeSSIM {
                            ssimSum[ch] += SSIM3D.volume(UnsafeBufferPointer(rebasing: p[base..<(base + v)]),
                                                         UnsafeBufferPointer(rebasing: t[base..<(base + v)]),
                                                         shape: spatial, dataRange: dataRange)
                        }
                    }
                }
            }
        }
        volumeCount += n
    }

    public func result() -> VolumeMetrics {
        let perChannel = zip(squaredError, voxelsPerChannel).map { ($0 / Double(max(1, $1))).squareRoot() }
        let overall = (squaredError.reduce(0, +) / Double(max(1, voxelsPerChannel.reduce(0, +)))).squareRoot()
        let psnr = { (r: Double) in 20 * log10(dataRange / r) }
        let ssimC = ssimSum.map { $0 / Double(max(1, volumeCount)) }
        return VolumeMetrics(rmse: overall, rmsePerChannel: perChannel, psnr: psnr(overall), psnrPerChannel: perChannel.map(psnr),
                             ssim: computeSSIM ? ssimC.reduce(0, +) / Double(max(1, ssimC.count)) : .nan,
                             ssimPerChannel: computeSSIM ? ssimC : [], volumes: volumeCount)
    }
}

/// scikit-image's structural_similarity on one 3D volume (gaussian_weights, σ 1.5,
/// use_sample_covariance False), in Double.
public enum SSIM3D {
    public static func volume(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>, shape: [Int], dataRange: Double = 1.0) -> Double {
        let count = shape.reduce(1, *)
        var maps = [[Double]](repeating: [Double](repeating: 0, count: count), count: 5)
        for i in 0..<count {
            let a = Double(x[i]), b = Double(y[i])
            maps[0][i] = a; maps[1][i] = b; maps[2][i] = a * a; maps[3][i] = b * b; maps[4][i] = a * b
        }
        var outShape = shape
        for m in 0..<5 { (maps[m], outShape) = filterValid(maps[m], shape: shape) }
        let c1 = (0.01 * dataRange) * (0.01 * dataRange), c2 = (0.03 * dataRange) * (0.03 * dataRange)
        let n = outShape.reduce(1, *)
        var total = 0.0
        for i in 0..<n {
            let ux = maps[0][i], uy = maps[1][i]
            let vx = maps[2][i] - ux * ux, vy = maps[3][i] - uy * uy, vxy = maps[4][i] - ux * uy
            total += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
        }
        return total / Double(n)
    }

    /// Separable valid filtering along the three axes.
    static func filterValid(_ v: [Double], shape: [Int]) -> ([Double], [Int]) {
        let w = SSIMWindow.doubleWeights, k = w.count
        var cur = v, s = shape
        for axis in 0..<3 {
            let n = s[axis], m = n - k + 1
            let outer = s[..<axis].reduce(1, *), inner = s[(axis + 1)...].reduce(1, *)
            var out = [Double](repeating: 0, count: outer * m * inner)
            for o in 0..<outer {
                for i in 0..<m {
                    let dst = (o * m + i) * inner
                    for t in 0..<k {
                        let src = (o * n + i + t) * inner, wt = w[t]
                        for r in 0..<inner { out[dst + r] += wt * cur[src + r] }
                    }
                }
            }
            cur = out
            s[axis] = m
        }
        return (cur, s)
    }
}
