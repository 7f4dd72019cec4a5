import XCTest
import Tensor

/// Every differentiable operation's backward against central finite differences (odd sizes, kinks
/// avoided: ReLU/clamp inputs kept away from their corners, max-pool inputs without near-ties).
final class LayerGradientTests: XCTestCase {
    /// The checker itself can fail: a deliberately wrong rule (gradient off by 10%) is caught.
    func testCheckerCatchesAWrongRule() throws {
        let x = Check.random([3, 4], 0)
        let errors = try Check.gradientErrors([x]) { v, ctx in
            F.record("wrong", v[0].value.map { $0 * $0 }, inputs: [v[0]], ctx: ctx, saved: 0) { g in [try Tensor.binary(g, v[0].value.map { 2.2 * $0 }, .mul)] }
        }
        XCTAssertFalse(errors.isEmpty)
    }

    func testBroadcastingElementwise() throws {
        let a = Check.random([2, 3, 4], 1), b = Check.random([1, 3, 1], 2)
        let pos = Check.random([3, 1], 3).map { 1 + 0.5 * $0 }
        try Check.gradients([a, b]) { v, ctx in try F.add(v[0], v[1], ctx) }
        try Check.gradients([a, b]) { v, ctx in try F.sub(v[0], v[1], ctx) }
        try Check.gradients([a, b]) { v, ctx in try F.mul(v[0], v[1], ctx) }
        try Check.gradients([a, pos]) { v, ctx in try F.div(v[0], v[1], ctx) }
        // the attention block's product: features [N, C, D, H, W] · map [N, 1, D, H, W]
        let f = Check.random([2, 3, 3, 2, 3], 4), m = Check.random([2, 1, 3, 2, 3], 5)
        try Check.gradients([f, m]) { v, ctx in try F.mul(v[0], v[1], ctx) }
    }

    func testUnaryOps() throws {
        let x = Check.random([3, 5], 10)
        let pos = x.map { 1 + 0.5 * $0 }
        try Check.gradients([x]) { v, ctx in F.exp(v[0], ctx) }
        try Check.gradients([pos]) { v, ctx in F.log(v[0], ctx) }
        try Check.gradients([pos]) { v, ctx in F.sqrt(v[0], ctx) }
        try Check.gradients([pos]) { v, ctx in F.pow(v[0], 1.7, ctx) }
        try Check.gradients([x]) { v, ctx in F.square(v[0], ctx) }
        try Check.gradients([x]) { v, ctx in F.sigmoid(v[0], ctx) }
        try Check.gradients([x]) { v, ctx in F.mulScalar(F.addScalar(v[0], 3, ctx), -2, ctx) }
        let spread = Check.distinct([4, 5], 11, gap: 0.1)
        try Check.gradients([spread]) { v, ctx in F.relu(v[0], ctx) }
        try Check.gradients([spread]) { v, ctx in F.abs(v[0], ctx) }
        try Check.gradients([spread]) { v, ctx in try F.clamp(v[0], min: -0.33, max: 0.47, ctx) }
    }

    func testReductionsAndShapes() throws {
        let x = Check.random([2, 3, 4], 20)
        try Check.gradients([x]) { v, ctx in F.sum(v[0], ctx) }
        try Check.gradients([x]) { v, ctx in F.mean(v[0], ctx) }
        try Check.gradients([x]) { v, ctx in try F.sum(v[0], axes: [0, 2], ctx) }
        try Check.gradients([x]) { v, ctx in try F.mean(v[0], axes: [-1], keepDims: true, ctx) }
        try Check.gradients([Check.distinct([2, 3, 4], 21)]) { v, ctx in try F.max(v[0], axes: [1], ctx) }
        try Check.gradients([x]) { v, ctx in try F.permute(try F.reshape(v[0], [2, 12], ctx), [1, 0], ctx) }
        let y = Check.random([3, 12], 22)
        try Check.gradients([x, y]) { v, ctx in
            try F.concatBatch([try F.reshape(try F.batchSlice(v[0], 1..<2, ctx), [1, 12], ctx), v[1]], ctx)
        }
    }

    func testBatchNormTrainingAndEvaluation() throws {
        let x = Check.random([3, 2, 3, 2, 3], 30, scale: 2)
        let g = Check.random([2], 31).map { 1 + $0 * 0.5 }, b = Check.random([2], 32)
        try Check.gradients([x, g, b], eps: 5e-3) { v, ctx in
            try F.batchNorm(v[0], weight: v[1], bias: v[2], state: BatchNormState(channels: 2), ctx)
        }
        let state = BatchNormState(channels: 2)
        state.runningMean = try Tensor(shape: [2], storage: [0.3, -0.2])
        state.runningVar = try Tensor(shape: [2], storage: [1.5, 0.7])
        try Check.gradients([x, g, b], training: false) { v, ctx in
            try F.batchNorm(v[0], weight: v[1], bias: v[2], state: state, ctx)
        }
    }

    func testPoolingAndLinear() throws {
        let x = Check.distinct([2, 2, 5, 4, 5], 40)
        try Check.gradients([x]) { v, ctx in try F.maxPool3d(v[0], kernel: 3, stride: 2, padding: 1, ctx) }
        try Check.gradients([x]) { v, ctx in try F.maxPool3d(v[0], kernel: Size3(2, 3, 2), stride: Size3(2, 1, 3), ctx) }
        try Check.gradients([Check.random([2, 3, 3, 2, 3], 41)]) { v, ctx in try F.globalAvgPool(v[0], ctx) }
        let a = Check.random([3, 5], 42), w = Check.random([4, 5], 43), bias = Check.random([4], 44)
        try Check.gradients([a, w, bias]) { v, ctx in try F.linear(v[0], weight: v[1], bias: v[2], ctx) }
    }

    func testDropoutResizeAndFilter() throws {
        let x = Check.random([2, 3, 3, 4, 5], 50)
        let key = RandomKey(seed: 5, stream: 9)
        try Check.gradients([x]) { v, ctx in try F.dropout(v[0], p: 0.3, key: key, ctx) }
        try Check.gradients([x]) { v, ctx in try F.dropout3d(v[0], p: 0.5, key: key, ctx) }
        try Check.gradients([x]) { v, ctx in try F.trilinearResize(v[0], size: Size3(5, 3, 8), ctx) }
        let big = Check.random([1, 2, 6, 5, 7], 51)
        try Check.gradients([big]) { v, ctx in try F.gaussianFilter3d(v[0], window: GaussianFilterKernel.window(size: 3, sigma: 1.5), ctx) }
    }

    /// The spatial-attention block and a residual block, end to end (composition of the rules).
    func testAttentionAndResidualBlocks() throws {
        let x = Check.random([2, 4, 3, 3, 3], 60)
        let w1 = Check.random([2, 4, 3, 3, 3], 61, scale: 0.3), w2 = Check.random([1, 2, 3, 3, 3], 62, scale: 0.3)
        let b1 = Check.random([2], 63), b2 = Check.random([1], 64)
        try Check.gradients([x, w1, b1, w2, b2], eps: 5e-3) { v, ctx in
            let h = F.sigmoid(try F.conv3d(v[0], weight: v[1], bias: v[2], padding: 1, ctx), ctx)   // sigmoid: smooth, no kinks
            let a = F.sigmoid(try F.conv3d(h, weight: v[3], bias: v[4], padding: 1, ctx), ctx)
            return try F.mul(v[0], a, ctx)
        }
        let wa = Check.random([3, 4, 3, 3, 3], 65, scale: 0.3), ws = Check.random([3, 4, 1, 1, 1], 66, scale: 0.5)
        try Check.gradients([x, wa, ws], eps: 5e-3) { v, ctx in
            let main = try F.batchNorm(try F.conv3d(v[0], weight: v[1], bias: nil, stride: 2, padding: 1, ctx),
                                       weight: Variable(Tensor(shape: [3], repeating: 1)), bias: Variable(Tensor(shape: [3])), state: BatchNormState(channels: 3), ctx)
            let short = try F.conv3d(v[0], weight: v[2], bias: nil, stride: 2, ctx)
            return try F.add(main, short, ctx)
        }
    }
}
