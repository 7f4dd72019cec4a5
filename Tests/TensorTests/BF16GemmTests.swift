import XCTest
import Tensor

/// The bf16 GEMM (Sources/CBF16 on AVX512-BF16, else the emulation) against a double-precision
/// reference over bf16-rounded operands (tight: only fp32 accumulation error is allowed) and against
/// fp32 sgemm (loose: the bf16 rounding of both operands, ≤ 2⁻⁸ relative each: 8 significand bits).
final class BF16GemmTests: XCTestCase {
    /// One GEMM problem in row-major storage with padded leading dimensions.
    struct Problem {
        let transA: Bool, transB: Bool, m: Int, n: Int, k: Int
        let alpha: Float, beta: Float
        let a: [Float], lda: Int, b: [Float], ldb: Int, c0: [Float], ldc: Int

        init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0, seed: UInt64,
             values: (RandomKey, Int) -> Float = { key, i in key.uniform(UInt64(i)) * 2 - 1 }) {
            self.transA = transA; self.transB = transB; self.m = m; self.n = n; self.k = k
            self.alpha = alpha; self.beta = beta
            let (ra, ca) = transA ? (k, m) : (m, k), (rb, cb) = transB ? (n, k) : (k, n)
            lda = ca + 3; ldb = cb + 5; ldc = n + 2
            let ka = RandomKey(seed: seed, stream: 1), kb = RandomKey(seed: seed, stream: 2), kc = RandomKey(seed: seed, stream: 3)
            a = (0..<(ra * lda)).map { values(ka, $0) }
            b = (0..<(rb * ldb)).map { values(kb, $0) }
            c0 = (0..<(m * ldc)).map { values(kc, $0) }
        }

        func A(_ i: Int, _ p: Int) -> Float { transA ? a[p * lda + i] : a[i * lda + p] }
        func B(_ p: Int, _ j: Int) -> Float { transB ? b[j * ldb + p] : b[p * ldb + j] }

        /// (alpha·Σ bf16(A)·bf16(B) + beta·C0 in double, alpha·Σ|A||B| + |beta·C0| for error bounds).
        func reference(rounded: Bool) -> (value: [Double], magnitude: [Double]) {
            var v = [Double](repeating: 0, count: m * n), mag = v
            for i in 0..<m { for j in 0..<n {
                var s = 0.0, t = 0.0
                for p in 0..<k {
                    let x = Double(rounded ? BFloat16.rounded(A(i, p)) : A(i, p))
                    let y = Double(rounded ? BFloat16.rounded(B(p, j)) : B(p, j))
                    s += x * y; t += abs(x * y)
                }
                let c = beta == 0 ? 0 : Double(beta) * Double(c0[i * ldc + j])
                v[i * n + j] = Double(alpha) * s + c
                mag[i * n + j] = abs(Double(alpha)) * t + abs(c)
            } }
            return (v, mag)
        }

        func run(precision: Precision? = nil, path: Gemm.BF16Path = .native, threads: Int = 1) -> [Float] {
            var c = c0
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
                if let precision {
                    Gemm.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!, lda: lda,
                              b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc, precision: precision, threads: threads)
                } else {
                    Gemm.gemmBF16(path: path, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: ap.baseAddress!,
                                  lda: lda, b: bp.baseAddress!, ldb: ldb, beta: beta, c: cp.baseAddress!, ldc: ldc, threads: threads)
                }
            } } }
            return c
        }

        /// The padding columns of C (j ≥ n) must come back untouched.
        func paddingIntact(_ c: [Float]) -> Bool {
            (0..<m).allSatisfy { i in (n..<ldc).allSatisfy { c[i * ldc + $0] == c0[i * ldc + $0] } }
        }
    }

    /// Sizes straddling the 8×32 microkernel, the 384-deep K slice, 128-row M block and 2048-column N block.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 33, 5), (8, 32, 2), (13, 70, 3), (9, 31, 385), (17, 65, 769), (130, 45, 17), (5, 2100, 9), (3, 40, 1),
        // narrow C, computed as Cᵀ
        (300, 7, 33), (64, 1, 100), (2000, 9, 390),
    ]

    static let ulp = pow(2.0, -24.0)

    func testNativePathIsUsedOnThisCPU() throws {
        // The machine this project runs on has AVX512-BF16; elsewhere the emulation is the documented fallback.
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        try XCTSkipUnless(flags.contains("avx512_bf16"), "CPU without AVX512-BF16")
        XCTAssertEqual(Gemm.bf16Path, .native)
    }

    func testMatchesBF16RoundedReferenceUpToFP32Accumulation() throws {
        for path in Gemm.BF16Path.allCases {
            for (s, shape) in Self.shapes.enumerated() {
                for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                    let pr = Problem(transA: ta, transB: tb, m: shape.m, n: shape.n, k: shape.k, alpha: 0.75,
                                     beta: s % 3 == 0 ? 0 : (s % 3 == 1 ? 1 : -0.5), seed: UInt64(10 * s + 1))
                    let c = pr.run(path: path)
                    let (ref, mag) = pr.reference(rounded: true)
                    var worst = 0.0
                    for i in 0..<pr.m { for j in 0..<pr.n {
                        // fp32 accumulation over k products (in K slices) plus the alpha/beta update
                        let bound = Double(pr.k + 4) * Self.ulp * mag[i * pr.n + j] + 1e-30
                        worst = max(worst, abs(Double(c[i * pr.ldc + j]) - ref[i * pr.n + j]) / bound)
                    } }
                    XCTAssertLessThanOrEqual(worst, 1, "\(path) \(shape) transA \(ta) transB \(tb): error/bound \(worst)")
                    XCTAssertTrue(pr.paddingIntact(c), "\(path) \(shape) wrote outside C")
                }
            }
        }
    }

    /// Small integers are exact in bf16 and their sums exact in fp32: every path must agree bit for bit.
    func testExactWhereArithmeticIsExact() throws {
        let ints: (RandomKey, Int) -> Float = { key, i in Float(Int(key.uniform(UInt64(i)) * 17) - 8) }
        for (s, shape) in Self.shapes.enumerated() {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let pr = Problem(transA: ta, transB: tb, m: shape.m, n: shape.n, k: shape.k, alpha: 1, beta: 1,
                                 seed: UInt64(s + 100), values: ints)
                let expected = pr.reference(rounded: false).value
                for path in Gemm.BF16Path.allCases {
                    let c = pr.run(path: path)
                    var mismatches = 0
                    for i in 0..<pr.m { for j in 0..<pr.n where Double(c[i * pr.ldc + j]) != expected[i * pr.n + j] { mismatches += 1 } }
                    XCTAssertEqual(mismatches, 0, "\(path) \(shape) transA \(ta) transB \(tb)")
                }
            }
        }
    }

    /// Against fp32 sgemm: within the bf16 rounding of both operands, and really reduced precision.
    func testCloseToFP32WithinBF16Rounding() throws {
        for (s, shape) in Self.shapes.enumerated() where shape.k > 1 {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let pr = Problem(transA: ta, transB: tb, m: shape.m, n: shape.n, k: shape.k, alpha: 1, beta: 0, seed: UInt64(s + 200))
                let c16 = pr.run(precision: .bf16), c32 = pr.run(precision: .fp32)
                let (_, mag) = pr.reference(rounded: false)
                var worst = 0.0, differs = false
                for i in 0..<pr.m { for j in 0..<pr.n {
                    let d = abs(Double(c16[i * pr.ldc + j]) - Double(c32[i * pr.ldc + j]))
                    // each operand within u = 2⁻⁸ relative → product within 2u + u², plus both accumulations
                    let bound = (pow(2.0, -7) + pow(2.0, -16) + 2 * Double(pr.k + 4) * Self.ulp) * mag[i * pr.n + j] + 1e-30
                    worst = max(worst, d / bound)
                    differs = differs || d > 0
                } }
                XCTAssertLessThanOrEqual(worst, 1, "\(shape) transA \(ta) transB \(tb)")
                XCTAssertTrue(differs, "\(shape): bf16 result identical to fp32 — operands were not rounded")
            }
        }
    }

    /// Threads split the columns only, so the numbers do not depend on the thread count.
    func testThreadCountDoesNotChangeBits() throws {
        // (100, 40): the 32- and 8-column slices of 2 threads take the direct and the transposed
        // layout while 1 thread takes the transposed one — the per-element arithmetic is the same.
        for (m, n) in [(19, 300), (100, 40)] {
            for (ta, tb) in [(false, false), (true, true)] {
                let pr = Problem(transA: ta, transB: tb, m: m, n: n, k: 401, alpha: 1, beta: 0.5, seed: 7)
                let one = pr.run(precision: .bf16, threads: 1)
                for t in [2, 3, 7] { XCTAssertEqual(pr.run(precision: .bf16, threads: t), one, "\(m)×\(n) threads \(t)") }
            }
        }
    }

    /// The conversion rounds to nearest even, like `BFloat16.round`, on normal numbers and specials.
    func testRoundingOfTies() throws {
        // 1 + 2⁻⁸ is a tie between 1 and 1 + 2⁻⁷: even → 1; 1 + 3·2⁻⁸ ties to 1 + 2⁻⁶ (even mantissa).
        let pr = Problem(transA: false, transB: false, m: 1, n: 4, k: 2, seed: 1) { _, i in
            [1 + 1.0 / 256, 1 + 3.0 / 256, 1, 0, 0, 0, 0][min(i, 6)]
        }
        XCTAssertEqual(BFloat16.rounded(1 + 1.0 / 256), 1)
        XCTAssertEqual(BFloat16.rounded(1 + 3.0 / 256), 1 + 1.0 / 64)
        let c = pr.run(precision: .bf16)
        let expected = pr.reference(rounded: true).value
        for j in 0..<pr.n { XCTAssertEqual(Double(c[j]), expected[j], "column \(j)") }
    }
}
