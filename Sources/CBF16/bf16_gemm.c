// bf16 GEMM on AVX512-BF16: C(fp32) = alpha·A(bf16)·B(bf16) + beta·C.
//
// Layout (GotoBLAS-style): for each NC-column block and KC-deep slice, B is packed into
// NR-column micro-panels and A into MR-row micro-panels, both as bf16 *pairs along K* — the
// operand layout of vdpbf16ps, which multiplies 16 lanes of (k, k+1) pairs and adds both
// products into an fp32 accumulator. Packed A: [kp][MR] pairs (one pair is broadcast per row);
// packed B: [kp][NR] pairs (two zmm per k-pair). The 8×32 microkernel keeps 16 zmm accumulators.
// An odd K is padded with a zero element; M and N tails are padded with zeros in the packing and
// masked on store; a narrow C (few columns) is computed as Cᵀ = op(B)ᵀ·op(A)ᵀ. Everything here runs only after cbf16_native_available() said yes; the
// functions carry target attributes so the package needs no compiler flags.
#include "cbf16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MR 8
#define NR 32
#define KC 384          // K elements per slice (even): a B micro-panel is KC/2·NR·4 B = 24 KiB (L1)
#define MC 128          // rows of A per block (multiple of MR): 96 KiB of packed A (L2)
#define NC 2048         // columns of B per block (multiple of NR): 1.5 MiB of packed B (L2)

#define TARGET __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16")))

int cbf16_native_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

unsigned short cbf16_round(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7F800000u) == 0) return (unsigned short)((u >> 16) & 0x8000u);        // ±0, subnormal → ±0
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (unsigned short)((u >> 16) | 0x40u);  // NaN → quiet NaN
    uint32_t lsb = (u >> 16) & 1u;
    return (unsigned short)((u + 0x7FFFu + lsb) >> 16);
}

static inline uint32_t pair(float lo, float hi) {
    return (uint32_t)cbf16_round(lo) | ((uint32_t)cbf16_round(hi) << 16);
}

// MARK: packing A (mc rows from row i0, kc columns from k0) into MR-row micro-panels [kp][MR].

TARGET static void pack_a(int trans, const float *a, long lda, long i0, long mc, long k0, long kc, uint32_t *out) {
    const long kp = (kc + 1) / 2, full = kc / 2;
    const __m256i interleave8 = _mm256_setr_epi16(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    for (long ir = 0; ir < mc; ir += MR) {
        const long rows = mc - ir < MR ? mc - ir : MR;
        uint32_t *panel = out + ir * kp;
        const long i = i0 + ir;
        if (!trans) {
            // A(i, k) = a[i·lda + k]: each row's pairs are contiguous; gather one pair per row.
            const __m512i index = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64(lda));
            const __mmask8 live = (__mmask8)((1u << rows) - 1);
            const float *base = a + i * lda + k0;
            for (long p = 0; p < full; p++) {
                __m512i g = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), live, index, base + 2 * p, 4);
                __m256bh h = _mm512_cvtneps_pbh(_mm512_castsi512_ps(g));
                _mm256_storeu_si256((__m256i *)(panel + p * MR), (__m256i)h);
            }
            if (kp > full) {
                for (long r = 0; r < MR; r++)
                    panel[full * MR + r] = r < rows ? pair(a[(i + r) * lda + k0 + kc - 1], 0) : 0;
            }
        } else {
            // A(i, k) = a[k·lda + i]: rows k and k+1 hold MR consecutive i; convert and interleave.
            const __mmask8 live = (__mmask8)((1u << rows) - 1);
            for (long p = 0; p < kp; p++) {
                const float *r0 = a + (k0 + 2 * p) * lda + i;
                __m256 lo = _mm256_maskz_loadu_ps(live, r0);
                __m256 hi = 2 * p + 1 < kc ? _mm256_maskz_loadu_ps(live, r0 + lda) : _mm256_setzero_ps();
                __m512 both = _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
                __m256i h = (__m256i)_mm512_cvtneps_pbh(both);
                _mm256_storeu_si256((__m256i *)(panel + p * MR), _mm256_permutexvar_epi16(interleave8, h));
            }
        }
    }
}

// MARK: packing B (kc rows from k0, nc columns from j0) into NR-column micro-panels [kp][NR].

TARGET static void pack_b(int trans, const float *b, long ldb, long j0, long nc, long k0, long kc, uint32_t *out) {
    const long kp = (kc + 1) / 2, full = kc / 2;
    static const uint16_t order[32] = {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
                                       8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i interleave16 = _mm512_loadu_si512(order);
    for (long jr = 0; jr < nc; jr += NR) {
        uint32_t *panel = out + jr * kp;
        for (long half = 0; half < NR; half += 16) {
            const long j = j0 + jr + half;
            long cols = nc - jr - half;
            cols = cols < 0 ? 0 : cols > 16 ? 16 : cols;
            if (!trans) {
                // B(k, j) = b[k·ldb + j]: rows k, k+1 hold 16 consecutive j; convert both, interleave.
                const __mmask16 live = (__mmask16)((1u << cols) - 1);
                for (long p = 0; p < kp; p++) {
                    const float *r0 = b + (k0 + 2 * p) * ldb + j;
                    __m512 lo = _mm512_maskz_loadu_ps(live, r0);
                    __m512 hi = 2 * p + 1 < kc ? _mm512_maskz_loadu_ps(live, r0 + ldb) : _mm512_setzero_ps();
                    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
                    _mm512_storeu_si512(panel + p * NR + half, _mm512_permutexvar_epi16(interleave16, h));
                }
            } else {
                // B(k, j) = b[j·ldb + k]: each column's pairs are contiguous; gather 8 + 8 pairs.
                const __m512i index = _mm512_mullo_epi64(_mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7), _mm512_set1_epi64(ldb));
                const long c0 = cols < 8 ? cols : 8, c1 = cols - c0;
                const __mmask8 live0 = (__mmask8)((1u << c0) - 1), live1 = (__mmask8)((1u << c1) - 1);
                const float *base0 = b + j * ldb + k0, *base1 = b + (j + 8) * ldb + k0;
                for (long p = 0; p < full; p++) {
                    __m512i g0 = _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), live0, index, base0 + 2 * p, 4);
                    __m512i g1 = c1 > 0 ? _mm512_mask_i64gather_epi64(_mm512_setzero_si512(), live1, index, base1 + 2 * p, 4)
                                        : _mm512_setzero_si512();
                    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(_mm512_castsi512_ps(g1), _mm512_castsi512_ps(g0));
                    _mm512_storeu_si512(panel + p * NR + half, h);
                }
                if (kp > full) {
                    for (long c = 0; c < 16; c++)
                        panel[full * NR + half + c] = c < cols ? pair(b[(j + c) * ldb + k0 + kc - 1], 0) : 0;
                }
            }
        }
    }
}

// MARK: microkernel: C[rows×cols] (= or +=) alpha·Apanel·Bpanel (+ beta·C), rows ≤ MR, cols ≤ NR.

TARGET static void kernel(long kp, const uint32_t *ap, const uint32_t *bp, float *c, long ldc,
                          long rows, long cols, float alpha, float beta, int transposedC) {
    __m512 acc[MR][2];
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (long p = 0; p < kp; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + p * NR);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + p * NR + 16);
        const uint32_t *ar = ap + p * MR;
#pragma clang loop unroll(full)
        for (int r = 0; r < MR; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)ar[r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    if (transposedC) {   // element (r, j) of the tile lives at c[j·ldc + r]: scalar stores (the same fma as below)
        float tile[MR][NR];
        for (int r = 0; r < MR; r++) { _mm512_storeu_ps(tile[r], acc[r][0]); _mm512_storeu_ps(tile[r] + 16, acc[r][1]); }
        for (long j = 0; j < cols; j++) {
            float *cj = c + j * ldc;
            for (long r = 0; r < rows; r++) cj[r] = beta == 0 ? alpha * tile[r][j] : __builtin_fmaf(beta, cj[r], alpha * tile[r][j]);
        }
        return;
    }
    const long c0 = cols < 16 ? cols : 16, c1 = cols - c0;
    const __mmask16 m0 = (__mmask16)((1u << c0) - 1), m1 = (__mmask16)((1u << c1) - 1);
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (long r = 0; r < rows; r++) {
        float *cr = c + r * ldc;
        __m512 v0 = _mm512_mul_ps(va, acc[r][0]), v1 = _mm512_mul_ps(va, acc[r][1]);
        if (beta != 0) {
            v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, cr), v0);
            v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, cr + 16), v1);
        }
        _mm512_mask_storeu_ps(cr, m0, v0);
        _mm512_mask_storeu_ps(cr + 16, m1, v1);
    }
}

/// The blocked product; with transposedC the m×n result is stored transposed (C[j·ldc + i]).
static int gemm_blocked(int transA, int transB, long m, long n, long k, float alpha,
                        const float *a, long lda, const float *b, long ldb,
                        float beta, float *c, long ldc, int transposedC) {
    const long kcMax = k < KC ? k : KC, kpMax = (kcMax + 1) / 2;
    const long mcMax = m < MC ? m : MC, ncMax = n < NC ? n : NC;
    const long mPad = (mcMax + MR - 1) / MR * MR, nPad = (ncMax + NR - 1) / NR * NR;
    uint32_t *ap = aligned_alloc(64, (size_t)(mPad * kpMax * 4 + 63) / 64 * 64);
    uint32_t *bp = aligned_alloc(64, (size_t)(nPad * kpMax * 4 + 63) / 64 * 64);
    if (!ap || !bp) { free(ap); free(bp); return -1; }
    for (long jc = 0; jc < n; jc += NC) {
        const long nc = n - jc < NC ? n - jc : NC;
        for (long pc = 0; pc < k; pc += KC) {
            const long kc = k - pc < KC ? k - pc : KC, kp = (kc + 1) / 2;
            const float betaHere = pc == 0 ? beta : 1.0f;
            pack_b(transB, b, ldb, jc, nc, pc, kc, bp);
            for (long ic = 0; ic < m; ic += MC) {
                const long mc = m - ic < MC ? m - ic : MC;
                pack_a(transA, a, lda, ic, mc, pc, kc, ap);
                for (long jr = 0; jr < nc; jr += NR) {
                    const long cols = nc - jr < NR ? nc - jr : NR;
                    for (long ir = 0; ir < mc; ir += MR) {
                        const long rows = mc - ir < MR ? mc - ir : MR;
                        float *tile = transposedC ? c + (jc + jr) * ldc + ic + ir : c + (ic + ir) * ldc + jc + jr;
                        kernel(kp, ap + ir * kp, bp + jr * kp, tile, ldc, rows, cols, alpha, betaHere, transposedC);
                    }
                }
            }
        }
    }
    free(ap);
    free(bp);
    return 0;
}

int cbf16_gemm(int transA, int transB, long m, long n, long k, float alpha,
               const float *a, long lda, const float *b, long ldb,
               float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return 0;
    if (k <= 0) {
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j];
        return 0;
    }
    // The micro-tile is 8 rows × 32 columns. When C is narrow (few columns, many rows: e.g. the data
    // gradient of a 2³ layer, N = 8) most of each tile would be padding, so compute Cᵀ = op(B)ᵀ·op(A)ᵀ
    // instead (same products and summation order per element) and store it transposed.
    const long tiles = (m + MR - 1) / MR * MR * ((n + NR - 1) / NR * NR);
    const long swapped = (n + MR - 1) / MR * MR * ((m + NR - 1) / NR * NR);
    if (swapped < tiles) return gemm_blocked(!transB, !transA, n, m, k, alpha, b, ldb, a, lda, beta, c, ldc, 1);
    return gemm_blocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 0);
}

// MARK: throughput probe (benchmarks only)

static double thread_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

TARGET static float probe_dpbf16(long iterations) {
    __m512 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
    const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3F803F80), y = (__m512bh)_mm512_set1_epi32(0x3A003A00);
    for (long n = 0; n < iterations; n++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) { acc[i] = _mm512_dpbf16_ps(acc[i], x, y); __asm__ volatile("" : "+v"(acc[i])); }
    }
    float s = 0;
    for (int i = 0; i < 16; i++) s += _mm512_reduce_add_ps(acc[i]);
    return s;
}

TARGET static float probe_fma(long iterations) {
    __m512 acc[16];
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
    const __m512 x = _mm512_set1_ps(1.0f), y = _mm512_set1_ps(1e-3f);
    for (long n = 0; n < iterations; n++) {
#pragma clang loop unroll(full)
        for (int i = 0; i < 16; i++) { acc[i] = _mm512_fmadd_ps(x, y, acc[i]); __asm__ volatile("" : "+v"(acc[i])); }
    }
    float s = 0;
    for (int i = 0; i < 16; i++) s += _mm512_reduce_add_ps(acc[i]);
    return s;
}

double cbf16_peak_gflops(int bf16, long iterations) {
    if (!cbf16_native_available() || iterations <= 0) return 0;
    volatile float sink;
    const double t0 = thread_seconds();
    sink = bf16 ? probe_dpbf16(iterations) : probe_fma(iterations);
    const double t = thread_seconds() - t0;
    (void)sink;
    return 16.0 * (double)iterations * (bf16 ? 64.0 : 32.0) / t / 1e9;
}

#else  // not x86-64: no AVX512-BF16; Swift takes the emulated path.

int cbf16_native_available(void) { return 0; }
unsigned short cbf16_round(float x) {
    unsigned int u;
    __builtin_memcpy(&u, &x, 4);
    if ((u & 0x7F800000u) == 0) return (unsigned short)((u >> 16) & 0x8000u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (unsigned short)((u >> 16) | 0x40u);
    return (unsigned short)((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
int cbf16_gemm(int transA, int transB, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc) {
    (void)transA; (void)transB; (void)m; (void)n; (void)k; (void)alpha; (void)a; (void)lda;
    (void)b; (void)ldb; (void)beta; (void)c; (void)ldc;
    return -1;
}
double cbf16_peak_gflops(int bf16, long iterations) { (void)bf16; (void)iterations; return 0; }

#endif
