import XCTest
import Tensor

/// The fused BatchNorm + ReLU (`F.batchNormReLU`) against the composition it replaces, finite
/// differences, and a Double-precision reference on shapes that take the threaded slab path.
final class FusedBatchNormReLUTests: XCTestCase {
    /// Values, input/γ/β gradients and running statistics equal relu(batchNorm(x)) exactly.
    func testFusedEqualsComposition() throws {
        for (shape, threads) in [([3, 4, 5, 6, 7], 1), ([2, 3, 9, 8, 33], 2), ([1, 2, 64, 64, 8], 2)] {
            let c = shape[1]
            let x = Check.random(shape, 60, scale: 2)
            let gamma = Check.random([c], 61).map { 1 + 0.5 * $0 }, beta = Check.random([c], 62).map { 0.3 * $0 }
            let seed = Check.random(shape, 63)
            func run(fused: Bool) throws -> (y: Tensor, grads: [Tensor], state: BatchNormState) {
                let tape = Tape()
                let ctx = ComputeContext.training(tape, threads: threads)
                let vs = [Variable(x, requiresGrad: true), Variable(gamma, requiresGrad: true), Variable(beta, requiresGrad: true)]
                let state = BatchNormState(channels: c)
                let y = fused
                    ? try F.batchNormReLU(vs[0], weight: vs[1], bias: vs[2], state: state, ctx)
                    : F.relu(try F.batchNorm(vs[0], weight: vs[1], bias: vs[2], state: state, ctx), ctx)
                try tape.backward(y, seed: seed)
                return (y.value, vs.map { $0.grad! }, state)
            }
            let a = try run(fused: true), b = try run(fused: false)
            XCTAssertEqual(a.y, b.y, "output \(shape)")
            XCTAssertEqual(a.grads, b.grads, "gradients \(shape)")
            XCTAssertEqual(a.state.runningMean, b.state.runningMean)
            XCTAssertEqual(a.state.runningVar, b.state.runningVar)
            XCTAssertEqual(a.state.numBatchesTracked, 1)
            XCTAssertTrue(a.y.withUnsafeBufferPointer { $0.allSatisfy { $0 >= 0 } })
        }
    }

    func testFusedFiniteDifferences() throws {
        let x = Check.random([3, 2, 3, 2, 3], 70, scale: 2)
        let g = Check.random([2], 71).map { 1 + $0 * 0.5 }, b = Check.random([2], 72).map { 0.2 * $0 }
        try Check.gradients([x, g, b], eps: 1e-3, tol: 3e-2) { v, ctx in
            try F.batchNormReLU(v[0], weight: v[1], bias: v[2], state: BatchNormState(channels: 2), ctx)
        }
    }

    /// Evaluation mode composes BatchNorm (running statistics) and ReLU.
    func testEvaluationUsesRunningStatistics() throws {
        let state = BatchNormState(channels: 2)
        state.runningMean = try Tensor(shape: [2], storage: [0.5, -1])
        state.runningVar = try Tensor(shape: [2], storage: [4, 0.25])
        let x = try Tensor(shape: [1, 2, 1, 1, 2], storage: [0.5, 2.5, -2, 0])
        let y = try F.batchNormReLU(Variable(x), weight: Variable(Tensor(shape: [2], repeating: 1)), bias: Variable(Tensor(shape: [2])),
                                    state: state, .evaluation())
        let e: Float = 1e-5
        let want: [Float] = [0, 2 / (4 + e).squareRoot(), 0, 1 / (0.25 + e).squareRoot()]
        for i in 0..<4 { XCTAssertEqual(y.value[flat: i], want[i], accuracy: 1e-6) }
        XCTAssertEqual(state.numBatchesTracked, 0)
    }

    /// Kernel statistics and gradients against sums in Double, with 1 and 2 threads, on a shape whose
    /// few planes are split into slabs (N·C = 2 < 4·threads).
    func testAgainstDoubleReference() throws {
        let shape = [1, 2, 64, 64, 8], (C, S) = (2, 64 * 64 * 8)
        let x = Check.random(shape, 80, scale: 3).map { $0 + 5 }     // offset mean: tests the two-pass variance
        let dy = Check.random(shape, 81)
        let gamma = try Tensor(shape: [2], storage: [1.5, 0.75]), beta = try Tensor(shape: [2], storage: [0.1, -0.2])
        for threads in [1, 2] {
            let (y, st) = try BatchNormKernel.forwardTraining(x, gamma: gamma, beta: beta, threads: threads, relu: true)
            let r = try BatchNormKernel.backwardTraining(dy, input: x, gamma: gamma, statistics: st, threads: threads, relu: true)
            for c in 0..<C {
                var sum = 0.0
                for i in 0..<S { sum += Double(x[flat: c * S + i]) }
                let mean = sum / Double(S)
                var sq = 0.0
                for i in 0..<S { let d = Double(x[flat: c * S + i]) - mean; sq += d * d }
                let inv = 1 / (sq / Double(S) + 1e-5).squareRoot()
                XCTAssertEqual(Double(st.mean[c]), mean, accuracy: 1e-6 * abs(mean))
                XCTAssertEqual(Double(st.variance[c]), sq / Double(S), accuracy: 1e-5 * sq / Double(S))
                XCTAssertEqual(Double(st.unbiasedVariance[c]), sq / Double(S - 1), accuracy: 1e-5 * sq / Double(S))
                // masked gradient sums and dx at a few points
                var a = 0.0, b = 0.0
                var mask = [Bool](repeating: false, count: S)
                for i in 0..<S {
                    let xi = Double(x[flat: c * S + i])
                    let out = (xi - mean) * inv * Double(gamma[flat: c]) + Double(beta[flat: c])
                    XCTAssertEqual(Double(y[flat: c * S + i]), max(0, out), accuracy: 1e-4)
                    mask[i] = y[flat: c * S + i] > 0
                    let g = mask[i] ? Double(dy[flat: c * S + i]) : 0
                    a += g; b += g * (xi - mean)
                }
                XCTAssertEqual(Double(r.beta[flat: c]), a, accuracy: 1e-3)
                XCTAssertEqual(Double(r.gamma[flat: c]), b * inv, accuracy: 1e-3)
                for i in stride(from: 0, to: S, by: 997) {
                    let xi = Double(x[flat: c * S + i])
                    let g = mask[i] ? Double(dy[flat: c * S + i]) : 0
                    let want = Double(gamma[flat: c]) * inv / Double(S) * (Double(S) * g - a - (xi - mean) * inv * b * inv)
                    XCTAssertEqual(Double(r.input[flat: c * S + i]), want, accuracy: 1e-4)
                }
            }
        }
    }
}
