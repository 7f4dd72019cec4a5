// Differentiable losses on [N, C, D, H, W] volumes, built from Tensor's `F` ops.
//
//   weighted RMSE = √( Σ_c w_c · MSE_c / Σ_c w_c ), MSE_c over batch and voxels of channel c
//                   (w = 1 for every channel gives the plain RMSE over all voxels)
//   SSIM          = scikit-image's 3D SSIM (Gaussian window 11, σ 1.5, K1 0.01, K2 0.03,
//                   population covariance), averaged over every (sample, channel) volume. Only the
//                   region ≥ 5 voxels from each face counts, as skimage crops it, so the "valid"
//                   separable filter gives it exactly and no boundary mode is involved.
//   combined      = Σ terms: rmse weight · weighted RMSE + ssim weight · (1 − SSIM)
import Foundation
import Tensor

public enum LossError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(prediction: [Int], target: [Int])
    case invalid(String)
    case nonFinite(term: String)

    public var description: String {
        switch self {
        case .shapeMismatch(let p, let t): return "loss: prediction \(p) and target \(t) differ in shape"
        case .invalid(let why): return "loss: \(why)"
        case .nonFinite(let term): return "loss: \(term) is NaN or Inf"
        }
    }
}

public enum Losses {
    static func check(_ p: Variable, _ t: Variable) throws {
        guard p.shape == t.shape else { throw LossError.shapeMismatch(prediction: p.shape, target: t.shape) }
        guard p.shape.count == 5 else { throw LossError.invalid("volumes must be [N, C, D, H, W] (got \(p.shape))") }
    }

    /// √(Σ_c w_c·MSE_c / Σ_c w_c); `channelWeights` nil = all 1.
    public static func weightedRMSE(_ prediction: Variable, _ target: Variable, channelWeights: [Float]? = nil,
                                    _ ctx: ComputeContext) throws -> Variable {
        try check(prediction, target)
        let c = prediction.shape[1]
        let w = channelWeights ?? [Float](repeating: 1, count: c)
        guard w.count == c else { throw LossError.invalid("\(w.count) channel weights for \(c) channels") }
        guard w.allSatisfy({ $0 >= 0 && $0.isFinite }), w.reduce(0, +) > 0 else {
            throw LossError.invalid("channel weights must be ≥ 0 with a positive sum (got \(w))")
        }
        let total = w.reduce(0, +)
        let diff = try F.sub(prediction, target, ctx)
        let mseC = try F.mean(F.square(diff, ctx), axes: [0, 2, 3, 4], ctx)          // [C]
        let weights = Variable(try Tensor(shape: [c], storage: w.map { $0 / total }))
        return F.sqrt(F.sum(try F.mul(mseC, weights, ctx), ctx), ctx)
    }

    /// Mean SSIM over every (sample, channel) volume; differentiable in both arguments.
    public static func ssim(_ x: Variable, _ y: Variable, dataRange: Double = 1.0, _ ctx: ComputeContext) throws -> Variable {
        try check(x, y)
        guard dataRange > 0, dataRange.isFinite else { throw LossError.invalid("SSIM data range must be > 0 (got \(dataRange))") }
        guard x.shape[2...].allSatisfy({ $0 >= SSIMWindow.size }) else {
            throw LossError.invalid("SSIM needs every spatial size ≥ \(SSIMWindow.size) (got \(x.shape))")
        }
        let w = SSIMWindow.weights
        func filt(_ v: Variable) throws -> Variable { try F.gaussianFilter3d(v, window: w, ctx) }
        let c1 = Float((0.01 * dataRange) * (0.01 * dataRange)), c2 = Float((0.03 * dataRange) * (0.03 * dataRange))
        let ux = try filt(x), uy = try filt(y)
        let uxx = try filt(F.mul(x, x, ctx)), uyy = try filt(F.mul(y, y, ctx)), uxy = try filt(F.mul(x, y, ctx))
        let uxux = try F.mul(ux, ux, ctx), uyuy = try F.mul(uy, uy, ctx), uxuy = try F.mul(ux, uy, ctx)
        let vx = try F.sub(uxx, uxux, ctx), vy = try F.sub(uyy, uyuy, ctx), vxy = try F.sub(uxy, uxuy, ctx)
        let a1 = F.addScalar(F.mulScalar(uxuy, 2, ctx), c1, ctx)
        let a2 = F.addScalar(F.mulScalar(vxy, 2, ctx), c2, ctx)
        let b1 = F.addScalar(try F.add(uxux, uyuy, ctx), c1, ctx)
        let b2 = F.addScalar(try F.add(vx, vy, ctx), c2, ctx)
        let s = try F.div(try F.mul(a1, a2, ctx), try F.mul(b1, b2, ctx), ctx)
        return F.mean(s, ctx)
    }
}

/// SSIM's Gaussian window: 11 taps, σ 1.5 (scipy's truncate 3.5 → radius 5).
public enum SSIMWindow {
    public static let size = 11
    public static let sigma = 1.5
    public static let weights: [Float] = doubleWeights.map { Float($0) }
    public static let doubleWeights: [Double] = {
        let w = (0..<size).map { i -> Double in let d = Double(i - size / 2); return exp(-0.5 * d * d / (sigma * sigma)) }
        let s = w.reduce(0, +)
        return w.map { $0 / s }
    }()
}

/// A loss as the experiment describes it: weighted terms and per-channel weights.
public struct LossSpec: Codable, Equatable, Sendable {
    public enum Term: String, Codable, Sendable, CaseIterable { case rmse, ssim }

    /// Term → weight, e.g. [.rmse: 0.7, .ssim: 0.3].
    public var terms: [Term: Double]
    /// Per-channel weights for the RMSE term (μa, μs′); nil = equal.
    public var channelWeights: [Double]?
    public var ssimDataRange: Double

    public init(terms: [Term: Double] = [.rmse: 1], channelWeights: [Double]? = nil, ssimDataRange: Double = 1.0) {
        self.terms = terms
        self.channelWeights = channelWeights
        self.ssimDataRange = ssimDataRange
    }

    public func validate() throws {
        guard !terms.isEmpty else { throw LossError.invalid("at least one loss term is needed") }
        for (t, w) in terms where !(w >= 0 && w.isFinite) { throw LossError.invalid("weight of \(t.rawValue) must be ≥ 0 (got \(w))") }
        guard terms.values.contains(where: { $0 > 0 }) else { throw LossError.invalid("all loss term weights are 0") }
    }

    /// The combined loss and each term's value (for logs): "rmse" = weighted RMSE, "ssim" = SSIM.
    public func callAsFunction(_ prediction: Variable, _ target: Variable, _ ctx: ComputeContext) throws -> (loss: Variable, parts: [String: Double]) {
        try validate()
        var total: Variable?
        var parts = [String: Double]()
        for term in Term.allCases {
            guard let w = terms[term], w > 0 else { continue }
            let contribution: Variable
            switch term {
            case .rmse:
                let r = try Losses.weightedRMSE(prediction, target, channelWeights: channelWeights?.map { Float($0) }, ctx)
                parts["rmse"] = Double(r.value[flat: 0])
                contribution = F.mulScalar(r, Float(w), ctx)
            case .ssim:
                let s = try Losses.ssim(prediction, target, dataRange: ssimDataRange, ctx)
                parts["ssim"] = Double(s.value[flat: 0])
                contribution = F.mulScalar(F.addScalar(F.neg(s, ctx), 1, ctx), Float(w), ctx)
            }
            total = try total.map { try F.add($0, contribution, ctx) } ?? contribution
        }
        let loss = total!
        guard loss.value[flat: 0].isFinite else {
            throw LossError.nonFinite(term: parts.filter { !$0.value.isFinite }.keys.sorted().first ?? "combined loss")
        }
        return (loss, parts)
    }
}
