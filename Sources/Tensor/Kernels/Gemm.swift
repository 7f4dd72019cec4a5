import CBF16
import COpenBLAS

/// Arithmetic of the convolution GEMMs. Accumulation is always fp32; `bf16` rounds both operands
/// to bfloat16 (round-to-nearest-even) first and multiplies them with AVX512-BF16 (vdpbf16ps) when
/// the CPU has it, else by the emulation described in `Gemm.gemmBF16`.
public enum Precision: String, Sendable, Codable, CaseIterable {
    case fp32
    case bf16
}

/// Row-major C = alpha·op(A)·op(B) + beta·C over raw pointers (all callers are kernels in this module).
public enum Gemm {
    /// `a` is M×K (K×M when transA), `b` is K×N (N×K when transB), `c` is M×N; leading dimensions as cblas.
    /// `threads` is used by the bf16 GEMM only (it splits N); the fp32 path runs on OpenBLAS's own
    /// thread setting (see `Parallel.plan`).
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, precision: Precision = .fp32,
                            threads: Int = 1) {
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
            gemmBF16(path: bf16Path, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                     a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, threads: threads)
        }
    }

    /// How a bf16 GEMM is computed.
    public enum BF16Path: String, Sendable, CaseIterable {
        /// Packed bf16 pairs and vdpbf16ps (Sources/CBF16): the real speed-up.
        case native = "avx512bf16 (vdpbf16ps)"
        /// Operands rounded to bf16 in fp32 containers, multiplied by OpenBLAS sgemm: the same
        /// arithmetic (a product of two bf16 values is exact in fp32, accumulation is fp32), no speed-up.
        case emulated = "emulated (bf16-rounded operands, fp32 sgemm)"
    }

    /// The path `precision: .bf16` takes on this CPU (decided once from CPUID: AVX512-BF16/F/BW/DQ/VL).
    /// Why not OpenBLAS: Debian's libopenblas 0.3.21 declares cblas_sbgemm in cblas.h but is built
    /// without BUILD_BFLOAT16, so the symbol is missing from the library.
    public static let bf16Path: BF16Path = cbf16_native_available() != 0 ? .native : .emulated

    /// C = alpha·bf16(op(A))·bf16(op(B)) + beta·C with fp32 accumulation, on the given path
    /// (`.native` on a CPU without AVX512-BF16 falls back to `.emulated`). Rounding is to nearest
    /// even; the native path also flushes subnormal operands to zero, as the hardware conversion does.
    /// `threads` split the columns of C (multiples of the 32-column micro-panel).
    public static func gemmBF16(path: BF16Path, transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int = 1) {
        if m == 0 || n == 0 { return }
        guard path == .native, bf16Path == .native, k > 0 else {
            emulatedBF16(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                         beta: beta, c: c, ldc: ldc)
            return
        }
        let panel = 32
        Parallel.chunks((n + panel - 1) / panel, threads: threads) { _, range in
            let j0 = range.lowerBound * panel, j1 = min(n, range.upperBound * panel)
            let bj = b + (transB ? j0 * ldb : j0)
            let status = cbf16_gemm(transA ? 1 : 0, transB ? 1 : 0, m, j1 - j0, k, alpha, a, lda, bj, ldb, beta, c + j0, ldc)
            if status != 0 {   // scratch allocation failed: same numbers, slower
                emulatedBF16(transA: transA, transB: transB, m: m, n: j1 - j0, k: k, alpha: alpha, a: a, lda: lda,
                             b: bj, ldb: ldb, beta: beta, c: c + j0, ldc: ldc)
            }
        }
    }

    static func emulatedBF16(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if k == 0 {
            gemm(transA: transA, transB: transB, m: m, n: n, k: 0, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
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
