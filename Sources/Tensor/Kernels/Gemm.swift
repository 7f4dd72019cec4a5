import COpenBLAS

/// Arithmetic of the convolution GEMMs. Accumulation is always fp32; `bf16` rounds both operands
/// to bfloat16 (round-to-nearest-even) first — see the note in `Gemm.gemm` on why this is emulated.
public enum Precision: String, Sendable, Codable, CaseIterable {
    case fp32
    case bf16
}

/// Row-major C = alpha·op(A)·op(B) + beta·C over raw pointers (all callers are kernels in this module).
public enum Gemm {
    /// `a` is M×K (K×M when transA), `b` is K×N (N×K when transB), `c` is M×N; leading dimensions as cblas.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, precision: Precision = .fp32) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            else if beta != 1 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } } }
            return
        }
        switch precision {
        case .fp32:
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        case .bf16:
            // Debian's libopenblas 0.3.21 declares cblas_sbgemm in cblas.h but is built without
            // BUILD_BFLOAT16: the symbol is missing from the library (`nm -D` shows only
            // support_avx512_bf16). So bf16 arithmetic is emulated: both operands are rounded to
            // bfloat16 (kept in float32 containers) and multiplied by sgemm. A product of two bf16
            // values is exact in fp32 and accumulation is fp32, so the numbers equal sbgemm's —
            // the accuracy cost is real, the speed gain is not.
            let rowsA = transA ? k : m, colsA = transA ? m : k
            let rowsB = transB ? n : k, colsB = transB ? k : n
            let a16 = UnsafeMutablePointer<Float>.allocate(capacity: rowsA * colsA)
            let b16 = UnsafeMutablePointer<Float>.allocate(capacity: rowsB * colsB)
            defer { a16.deallocate(); b16.deallocate() }
            for r in 0..<rowsA { BFloat16.roundInPlace(a + r * lda, into: a16 + r * colsA, count: colsA) }
            for r in 0..<rowsB { BFloat16.roundInPlace(b + r * ldb, into: b16 + r * colsB, count: colsB) }
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a16, Int32(colsA), b16, Int32(colsB), beta, c, Int32(ldc))
        }
    }
}

/// bfloat16 conversion (the top 16 bits of an IEEE float32, rounded to nearest even).
public enum BFloat16 {
    @inline(__always) public static func round(_ x: Float) -> UInt16 {
        let u = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: u >> 16) | 0x40 }
        let lsb = (u >> 16) & 1
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ lsb) >> 16)
    }

    @inline(__always) public static func toFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    /// The float32 value of x rounded to bfloat16.
    @inline(__always) public static func rounded(_ x: Float) -> Float { toFloat(round(x)) }

    static func roundInPlace(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] = rounded(src[i]) }
    }
}
