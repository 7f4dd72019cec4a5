import XCTest
import Tensor

/// Convolutions under `precision: .bf16`: every GEMM-based pass (forward, data and weight
/// gradients, transposed convolution by phases and by adjoint) stays within bf16 rounding of fp32,
/// and the bf16 backward is the gradient of the forward (central differences, loose tolerance).
final class BF16ConvTests: XCTestCase {
    /// ‖a − b‖ / ‖b‖ over all elements.
    func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
        var num = 0.0, den = 0.0
        for i in 0..<a.count {
            let d = Double(a[flat: i]) - Double(b[flat: i])
            num += d * d; den += Double(b[flat: i]) * Double(b[flat: i])
        }
        return (num / max(den, 1e-300)).squareRoot()
    }

    /// bf16 has 8 significand bits: each operand is off by ≤ 2⁻⁸ relative, products by ≤ 2⁻⁷;
    /// over many random-sign terms the relative error of a sum is far smaller (≈ 2⁻⁸/√3 ≈ 2e-3).
    func assertBF16Close(_ a: Tensor, _ b: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let rel = relativeError(a, b)
        XCTAssertLessThan(rel, 1e-2, what, file: file, line: line)
        XCTAssertGreaterThan(rel, 1e-6, "\(what): identical to fp32, bf16 not applied", file: file, line: line)
    }

    func testConv3dAllPassesCloseToFP32() throws {
        // odd sizes, stride 2 along W (deinterleaved vol2col), and a 1×1×1 pointwise layer
        let cases: [(x: [Int], w: [Int], stride: Size3, padding: Size3)] = [
            ([2, 5, 9, 7, 11], [6, 5, 3, 3, 3], Size3(1), Size3(1)),
            ([2, 3, 10, 9, 13], [7, 3, 3, 2, 3], Size3(2, 1, 2), Size3(1, 0, 1)),
            ([3, 16, 6, 6, 6], [9, 16, 1, 1, 1], Size3(1), Size3(0)),
            ([1, 2, 16, 16, 16], [16, 2, 7, 7, 7], Size3(2), Size3(3)),
        ]
        for (i, c) in cases.enumerated() {
            let x = Check.random(c.x, UInt64(300 + i)), w = Check.random(c.w, UInt64(310 + i), scale: 0.3)
            let g = try Conv3dGeometry(input: x.shape, weight: w.shape, stride: c.stride, padding: c.padding)
            let dy = Check.random(g.outputShape, UInt64(320 + i))
            for threads in [1, 2] {
                assertBF16Close(try Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: threads, precision: .bf16),
                                try Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g), "forward \(c.x) \(c.w)")
                assertBF16Close(try Conv3dKernel.backwardData(dy, weight: w, geometry: g, threads: threads, precision: .bf16),
                                try Conv3dKernel.backwardData(dy, weight: w, geometry: g), "data gradient \(c.x) \(c.w)")
                assertBF16Close(try Conv3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: threads, precision: .bf16).weight,
                                try Conv3dKernel.backwardWeight(x, outputGradient: dy, geometry: g).weight, "weight gradient \(c.x) \(c.w)")
            }
        }
    }

    func testConvTranspose3dAllPassesCloseToFP32() throws {
        // the decoder's k4 s2 p1, through both forward algorithms, and an odd general case
        let cases: [(x: [Int], w: [Int], stride: Size3, padding: Size3)] = [
            ([2, 6, 5, 4, 7], [6, 4, 4, 4, 4], Size3(2), Size3(1)),
            ([1, 3, 4, 5, 3], [3, 5, 3, 2, 3], Size3(2, 1, 3), Size3(1, 0, 1)),
        ]
        for (i, c) in cases.enumerated() {
            let x = Check.random(c.x, UInt64(400 + i)), w = Check.random(c.w, UInt64(410 + i), scale: 0.3)
            let g = try ConvTranspose3dGeometry(input: x.shape, weight: w.shape, stride: c.stride, padding: c.padding)
            let dy = Check.random(g.outputShape, UInt64(420 + i))
            let y32 = try ConvTranspose3dKernel.forward(x, weight: w, bias: nil, geometry: g)
            assertBF16Close(try ConvTranspose3dKernel.forwardByPhases(x, weight: w, geometry: g, threads: 2, precision: .bf16), y32, "phases \(c.x)")
            assertBF16Close(try ConvTranspose3dKernel.forwardByAdjoint(x, weight: w, geometry: g, threads: 2, precision: .bf16), y32, "adjoint \(c.x)")
            assertBF16Close(try ConvTranspose3dKernel.backwardData(dy, weight: w, geometry: g, threads: 2, precision: .bf16),
                            try ConvTranspose3dKernel.backwardData(dy, weight: w, geometry: g), "data gradient \(c.x)")
            assertBF16Close(try ConvTranspose3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: 2, precision: .bf16).weight,
                            try ConvTranspose3dKernel.backwardWeight(x, outputGradient: dy, geometry: g).weight, "weight gradient \(c.x)")
        }
    }

    /// The bf16 tape gradients of Σ f(inputs)·R against central differences of the exact (fp32)
    /// function: a bf16-quantised forward is piecewise constant at fine scales, so differences are
    /// taken in fp32 and only the analytic side is bf16. Tolerance 3% of max(|numeric|, 0.1·max|grad|).
    func bf16GradientErrors(_ inputs: [Tensor], _ f: ([Variable], ComputeContext) throws -> Variable) throws -> [String] {
        let tape = Tape()
        let vars = inputs.map { Variable($0, requiresGrad: true) }
        let out = try f(vars, ComputeContext(tape: tape, training: true, threads: 1, precision: .bf16))
        let r = Check.random(out.shape, 777)
        try tape.backward(out, seed: r)
        let exact = ComputeContext(tape: nil, training: true, threads: 1, precision: .fp32)
        func loss(_ xs: [Tensor]) throws -> Double { Check.dot(try f(xs.map { Variable($0) }, exact).value, r) }
        var errors: [String] = []
        let eps: Float = 1e-2
        for (k, input) in inputs.enumerated() {
            guard let analytic = vars[k].grad else { errors.append("input \(k): no gradient"); continue }
            let scale = Double(analytic.maxAbs())
            let stride = max(1, input.count / 24)
            for i in Swift.stride(from: k % stride, to: input.count, by: stride) {
                var plus = inputs, minus = inputs
                plus[k][flat: i] += eps
                minus[k][flat: i] -= eps
                let numeric = (try loss(plus) - loss(minus)) / Double(2 * eps)
                let a = Double(analytic[flat: i])
                if abs(a - numeric) > 3e-2 * max(abs(numeric), 0.1 * scale) + 1e-3 {
                    errors.append("input \(k) \(input.shape) element \(i): bf16 analytic \(a), numeric \(numeric)")
                }
            }
        }
        return errors
    }

    func testBF16Conv3dGradientsFiniteDifferences() throws {
        let x = Check.random([2, 3, 5, 6, 7], 500), w = Check.random([4, 3, 3, 3, 3], 501, scale: 0.5), b = Check.random([4], 502)
        let errors = try bf16GradientErrors([x, w, b]) { v, ctx in
            try F.conv3d(v[0], weight: v[1], bias: v[2], stride: Size3(1, 2, 1), padding: Size3(1), ctx)
        }
        XCTAssertEqual(errors, [])
    }

    func testBF16ConvTranspose3dGradientsFiniteDifferences() throws {
        let x = Check.random([2, 3, 3, 4, 3], 510), w = Check.random([3, 2, 4, 4, 4], 511, scale: 0.5)
        let errors = try bf16GradientErrors([x, w]) { v, ctx in
            try F.convTranspose3d(v[0], weight: v[1], bias: nil, stride: Size3(2), padding: Size3(1), ctx)
        }
        XCTAssertEqual(errors, [])
    }
}
