// Shared by the CKernels sources (not part of the public header): the target attribute every
// AVX-512F function carries, lane masks, and the even/odd lane split of 32 floats.
#ifndef CKERNELS_SIMD_H
#define CKERNELS_SIMD_H

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define ALWAYS_INLINE static inline __attribute__((always_inline))

// Bits from ..< to of 0 ..< 16 (clamped).
static inline __mmask16 ck_lanes(long from, long to) {
    if (from < 0) from = 0;
    if (to > 16) to = 16;
    if (from >= to) return 0;
    return (__mmask16)(((1u << to) - 1u) & ~((1u << from) - 1u));
}

// The even (0, 2, …, 30) and odd (1, 3, …, 31) elements of the 32 floats a ‖ b.
ALWAYS_INLINE TARGET __m512 ck_even(__m512 a, __m512 b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
}
ALWAYS_INLINE TARGET __m512 ck_odd(__m512 a, __m512 b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
}

#endif
#endif
