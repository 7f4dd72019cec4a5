import XCTest
import Tensor

/// Random tensors and a central finite-difference gradient checker (ggml's test-backend-ops style:
/// a capped number of checked elements per input, loss = Σ output·R with a fixed random R, sums in Double).
enum Check {
    static func random(_ shape: [Int], _ stream: UInt64, scale: Float = 1) -> Tensor {
        Tensor.uniform(shape: shape, low: -scale, high: scale, key: RandomKey(seed: 1234, stream: stream))
    }

    /// Values at least `gap` apart (a shuffled grid): no ties or near-ties for max-pool checks,
    /// and nothing within `gap/2` of zero for ReLU.
    static func distinct(_ shape: [Int], _ stream: UInt64, gap: Float = 0.05) -> Tensor {
        let n = shape.reduce(1, *)
        let perm = RandomKey(seed: 99, stream: stream).permutation(n)
        return try! Tensor(shape: shape, storage: perm.map { (Float($0) - Float(n) / 2 + 0.5) * gap })
    }

    static func dot(_ a: Tensor, _ b: Tensor) -> Double {
        var s = 0.0
        for i in 0..<a.count { s += Double(a[flat: i]) * Double(b[flat: i]) }
        return s
    }

    /// Checks the tape's gradients of every input against central differences of Σ f(inputs)·R.
    static func gradients(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 2e-2, maxChecks: Int = 24,
                          training: Bool = true, file: StaticString = #filePath, line: UInt = #line,
                          _ f: ([Variable], ComputeContext) throws -> Variable) throws {
        for e in try gradientErrors(inputs, eps: eps, tol: tol, maxChecks: maxChecks, training: training, f) {
            XCTFail(e, file: file, line: line)
        }
    }

    /// The mismatches found (empty when every checked element agrees).
    static func gradientErrors(_ inputs: [Tensor], eps: Float = 1e-2, tol: Double = 2e-2, maxChecks: Int = 24,
                               training: Bool = true, _ f: ([Variable], ComputeContext) throws -> Variable) throws -> [String] {
        var errors: [String] = []
        let tape = Tape()
        let vars = inputs.map { Variable($0, requiresGrad: true) }
        var ctx = ComputeContext(tape: tape, training: training, threads: 1)
        let out = try f(vars, ctx)
        let r = random(out.shape, 777)
        try tape.backward(out, seed: r)
        ctx.tape = nil
        func loss(_ xs: [Tensor]) throws -> Double { dot(try f(xs.map { Variable($0) }, ctx).value, r) }
        for (k, input) in inputs.enumerated() {
            guard let analytic = vars[k].grad, analytic.shape == input.shape else { errors.append("input \(k) got no gradient of its shape"); continue }
            let scale = Double(analytic.maxAbs())
            let n = input.count
            let stride = max(1, n / maxChecks)
            var i = (k * 7) % max(1, min(stride, n))
            while i < n {
                var plus = inputs, minus = inputs
                plus[k][flat: i] += eps
                minus[k][flat: i] -= eps
                let numeric = (try loss(plus) - loss(minus)) / Double(2 * eps)
                let a = Double(analytic[flat: i])
                let err = abs(a - numeric)
                if err > tol * max(abs(numeric), 0.1 * scale) + 1e-3 {
                    errors.append("input \(k) \(input.shape) element \(i): analytic \(a), numeric \(numeric)")
                    break
                }
                i += stride
            }
        }
        return errors
    }

    /// max |a − b| ≤ tol · max(1, max |b|).
    static func close(_ a: Tensor, _ b: Tensor, tol: Float = 1e-4, _ what: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.shape, b.shape, what, file: file, line: line)
        guard a.shape == b.shape else { return }
        var worst: Float = 0
        for i in 0..<a.count { worst = max(worst, abs(a[flat: i] - b[flat: i])) }
        let limit = tol * max(1, b.maxAbs())
        XCTAssertLessThanOrEqual(worst, limit, "\(what): max difference \(worst) > \(limit)", file: file, line: line)
    }

    /// Runs `body` with the AVX-512F loops (where the CPU has them) and with the portable loops.
    static func forEachLoopPath(_ body: (String) throws -> Void) rethrows {
        let initial = AVX512Loops.enabled
        defer { AVX512Loops.enabled = initial }
        for avx512 in initial ? [true, false] : [false] {
            AVX512Loops.enabled = avx512
            try body(avx512 ? "avx512" : "portable")
        }
    }
}
