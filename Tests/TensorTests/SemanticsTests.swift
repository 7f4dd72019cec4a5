import XCTest
import Tensor

/// Exact PyTorch semantics that finite differences cannot see: running statistics, tie rules,
/// interpolation coordinates, dropout scaling, broadcasting and reductions.
final class SemanticsTests: XCTestCase {
    func testBatchNormRunningStatisticsAsPyTorch() throws {
        // One channel, values 1…4: mean 2.5, biased var 1.25, unbiased var 5/3.
        let x = try Tensor(shape: [2, 1, 1, 1, 2], storage: [1, 2, 3, 4])
        let state = BatchNormState(channels: 1)
        let ctx = ComputeContext(training: true)
        let y = try F.batchNorm(Variable(x), weight: Variable(Tensor(shape: [1], repeating: 2)), bias: Variable(Tensor(shape: [1], repeating: 0.5)),
                                state: state, ctx)
        let inv = 1 / (1.25 + 1e-5 as Double).squareRoot()
        for (i, v) in [1.0, 2, 3, 4].enumerated() { XCTAssertEqual(Double(y.value[flat: i]), 2 * (v - 2.5) * inv + 0.5, accuracy: 1e-5) }
        XCTAssertEqual(state.runningMean[flat: 0], 0.25, accuracy: 1e-6)
        XCTAssertEqual(state.runningVar[flat: 0], 0.9 + 0.1 * 5 / 3, accuracy: 1e-6)
        XCTAssertEqual(state.numBatchesTracked, 1)
        // Evaluation uses the running statistics and leaves them alone.
        let e = try F.batchNorm(Variable(x), weight: Variable(Tensor(shape: [1], repeating: 1)), bias: Variable(Tensor(shape: [1])), state: state, .evaluation())
        XCTAssertEqual(Double(e.value[flat: 0]), (1 - 0.25) / (Double(state.runningVar[flat: 0]) + 1e-5).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(state.numBatchesTracked, 1)
        // A single value per channel cannot be normalised in training (PyTorch raises too).
        XCTAssertThrowsError(try F.batchNorm(Variable(Tensor(shape: [1, 1, 1, 1, 1])), weight: Variable(Tensor(shape: [1])), bias: Variable(Tensor(shape: [1])),
                                             state: BatchNormState(channels: 1), ctx))
    }

    func testMaxPoolTakesFirstMaximumOnTies() throws {
        let x = Tensor(shape: [1, 1, 3, 3, 3], repeating: 1)
        let (y, idx) = try MaxPool3dKernel.forward(x, kernel: 3, stride: 2, padding: 1)
        XCTAssertEqual(y.shape, [1, 1, 2, 2, 2])
        // Window of output o starts at max(0, 2o − 1) on each axis.
        var expected: [Int32] = []
        for od in 0..<2 { for oh in 0..<2 { for ow in 0..<2 {
            let s = [od, oh, ow].map { max(0, 2 * $0 - 1) }
            expected.append(Int32((s[0] * 3 + s[1]) * 3 + s[2]))
        } } }
        XCTAssertEqual(idx, expected)
    }

    func testTrilinearResizeCoordinatesAsPyTorch() throws {
        let up = try TrilinearResizeKernel.forward(try Tensor(shape: [1, 1, 1, 1, 2], storage: [0, 1]), size: Size3(1, 1, 4))
        XCTAssertEqual(up.storage, [0, 0.25, 0.75, 1])   // torch.nn.functional.interpolate(..., size=(1,1,4), mode="trilinear")
        let down = try TrilinearResizeKernel.forward(try Tensor(shape: [1, 1, 1, 1, 4], storage: [0, 1, 2, 3]), size: Size3(1, 1, 2))
        XCTAssertEqual(down.storage, [0.5, 2.5])
    }

    func testDropoutScalingAndMasks() throws {
        let x = Tensor(shape: [4, 8, 4, 4, 4], repeating: 1)
        let key = RandomKey(seed: 3)
        let y = try F.dropout(Variable(x), p: 0.25, key: key, ComputeContext(training: true)).value
        let kept = y.storage.filter { $0 != 0 }
        XCTAssertTrue(kept.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
        XCTAssertEqual(Double(kept.count) / Double(x.count), 0.75, accuracy: 0.03)
        let z = try F.dropout3d(Variable(x), p: 0.5, key: key, ComputeContext(training: true)).value
        for plane in 0..<32 {   // whole feature maps are either dropped or scaled by 2
            let vals = Set(z.storage[(plane * 64)..<((plane + 1) * 64)])
            XCTAssertTrue(vals == [0] || vals == [2], "plane \(plane): \(vals)")
        }
        XCTAssertEqual(try F.dropout(Variable(x), p: 0.5, key: key, .evaluation()).value, x)   // identity in evaluation
        XCTAssertThrowsError(try F.dropout(Variable(x), p: 1.5, key: key, ComputeContext(training: true)))
    }

    func testBroadcastAndReductions() throws {
        let a = try Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        let b = try Tensor(shape: [3], storage: [10, 20, 30])
        XCTAssertEqual(try Tensor.binary(a, b, .add).storage, [11, 22, 33, 14, 25, 36])
        XCTAssertEqual(try Tensor.binary(a, try b.reshaped([1, 3]), .mul).storage, [10, 40, 90, 40, 100, 180])
        XCTAssertEqual(try a.sum(axes: [0]).storage, [5, 7, 9])
        XCTAssertEqual(try a.sum(axes: [1], keepDims: true).shape, [2, 1])
        XCTAssertEqual(try a.mean(axes: [1]).storage, [2, 5])
        let m = try a.max(axes: [1])
        XCTAssertEqual(m.values.storage, [3, 6])
        XCTAssertEqual(m.indices, [2, 5])
        XCTAssertEqual(a.sum(), 21)
        XCTAssertEqual(try a.permuted([1, 0]).storage, [1, 4, 2, 5, 3, 6])
        XCTAssertThrowsError(try Tensor.binary(a, try Tensor(shape: [2], storage: [1, 2]), .add))
        let v = try Tensor(shape: [1, 2, 1, 1, 3], storage: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try v.ncdhwToNdhwc().storage, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(try v.ncdhwToNdhwc().ndhwcToNcdhw(), v)
    }

    func testGaussianWindowAndConvEquivalence() throws {
        let w = GaussianFilterKernel.window(size: 11, sigma: 1.5)
        XCTAssertEqual(w.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(w[5], w.max()!)
        // The separable filter equals a conv3d with the outer-product window.
        let x = Check.random([1, 1, 6, 7, 5], 70)
        let small = GaussianFilterKernel.window(size: 3, sigma: 1.0)
        var k = Tensor(shape: [1, 1, 3, 3, 3])
        for i in 0..<3 { for j in 0..<3 { for l in 0..<3 { k[flat: (i * 3 + j) * 3 + l] = small[i] * small[j] * small[l] } } }
        let g = try Conv3dGeometry(input: x.shape, weight: k.shape, stride: 1, padding: 0)
        Check.close(try GaussianFilterKernel.forward(x, window: small), Conv3dReference.forward(x, weight: k, bias: nil, geometry: g), tol: 1e-5)
    }

    func testRandomKeyIsCounterBased() {
        let key = RandomKey(seed: 42, stream: 3)
        XCTAssertEqual(key.uniform(17), key.uniform(17))
        XCTAssertNotEqual(key.uniform(17), key.uniform(18))
        XCTAssertNotEqual(key.uniform(17), RandomKey(seed: 42, stream: 4).uniform(17))
        XCTAssertNotEqual(key.derived(1), key.derived(2))
        let p = key.permutation(100)
        XCTAssertEqual(p.sorted(), Array(0..<100))
        XCTAssertNotEqual(p, Array(0..<100))
        let n = Tensor.normal(shape: [20000], key: key)
        XCTAssertEqual(n.mean(), 0, accuracy: 0.03)
        XCTAssertEqual(Double(n.map { $0 * $0 }.mean()), 1, accuracy: 0.05)
        let u = Tensor.uniform(shape: [20000], low: -2, high: 3, key: key)
        XCTAssertTrue(u.storage.allSatisfy { $0 >= -2 && $0 < 3 })
        XCTAssertEqual(u.mean(), 0.5, accuracy: 0.05)
    }
}
