#ifndef CBF16_H
#define CBF16_H

/// 1 when this CPU executes AVX512-BF16 (vdpbf16ps, vcvtne2ps2bf16) and AVX512F/BW/DQ/VL, else 0.
int cbf16_native_available(void);

/// Row-major C[m×n] = alpha·op(A)·op(B) + beta·C with both operands rounded to bfloat16
/// (round-to-nearest-even; subnormal inputs become signed zero, as the hardware conversion does)
/// and fp32 accumulation by vdpbf16ps. op(A) is m×k (A stored k×m when transA), op(B) is k×n
/// (B stored n×k when transB); leading dimensions as in cblas. Single-threaded: callers split N.
/// Only call when cbf16_native_available() returns 1. Returns 0, or -1 when scratch memory could
/// not be allocated (C is then unchanged).
int cbf16_gemm(int transA, int transB, long m, long n, long k, float alpha,
               const float *a, long lda, const float *b, long ldb,
               float beta, float *c, long ldc);

/// The scalar conversion used by the packers' tails (same result as vcvtneps2bf16).
unsigned short cbf16_round(float x);

/// Instruction-throughput probe for benchmarks: GFLOP/s of `iterations` × 16 independent zmm
/// vdpbf16ps (bf16 = 1, 64 FLOP each) or vfmadd231ps (bf16 = 0, 32 FLOP each) on this thread,
/// timed by thread CPU time. Returns 0 when the CPU lacks AVX512-BF16.
double cbf16_peak_gflops(int bf16, long iterations);

#endif
