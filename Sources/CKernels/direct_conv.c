// AVX-512F loops for the direct convolution; see include/ckernels.h. Four 16-wide chunks of an
// output row (64 outputs, the model's full-resolution width) times two channels keep 8 independent
// FMA chains in flight, enough to cover FMA latency; wider rows are done 64 outputs at a time.
#include "ckernels.h"

#include "simd.h"

#if defined(__x86_64__)

ALWAYS_INLINE TARGET void row2_block(const float *src, const long *off, long taps, const float *w,
                float *o0, float *o1, long x, long width, const int chunks) {
    __m512 a0[4], a1[4];
    for (int c = 0; c < chunks; c++) { a0[c] = _mm512_setzero_ps(); a1[c] = _mm512_setzero_ps(); }
    for (long t = 0; t < taps; t++) {
        const float *s = src + off[t] + x;
        const __m512 w0 = _mm512_set1_ps(w[2 * t]), w1 = _mm512_set1_ps(w[2 * t + 1]);
        for (int c = 0; c < chunks; c++) {
            const __m512 v = _mm512_loadu_ps(s + 16 * c);
            a0[c] = _mm512_fmadd_ps(w0, v, a0[c]);
            a1[c] = _mm512_fmadd_ps(w1, v, a1[c]);
        }
    }
    for (int c = 0; c < chunks; c++) {
        const __mmask16 m = ck_lanes(0, width - x - 16 * c);
        _mm512_mask_storeu_ps(o0 + x + 16 * c, m, a0[c]);
        if (o1) _mm512_mask_storeu_ps(o1 + x + 16 * c, m, a1[c]);
    }
}

TARGET void ck_direct_row2(const float *src, const long *offsets, long taps, const float *wpairs,
                             float *out0, float *out1, long width) {
    long x = 0;
    for (; x + 64 <= width; x += 64) row2_block(src, offsets, taps, wpairs, out0, out1, x, width, 4);
    const long chunks = (width - x + 15) / 16;
    switch (chunks) {
    case 3: row2_block(src, offsets, taps, wpairs, out0, out1, x, width, 3); break;
    case 2: row2_block(src, offsets, taps, wpairs, out0, out1, x, width, 2); break;
    case 1: row2_block(src, offsets, taps, wpairs, out0, out1, x, width, 1); break;
    default: break;
    }
}

// One tap's dot products over all rows, `chunks` 16-wide accumulators per channel (the row width
// is a multiple of 16·chunks), so 2·chunks FMA chains run independently.
ALWAYS_INLINE TARGET void wgrad_tap(const float *const *rowSrc, long o, const float *dy0, const float *d1, long dyStride, long rows,
               long paddedWidth, float *acc0, float *acc1, const int chunks) {
    __m512 a0[4], a1[4];
    for (int c = 0; c < chunks; c++) { a0[c] = _mm512_setzero_ps(); a1[c] = _mm512_setzero_ps(); }
    for (long q = 0; q < rows; q++) {
        const float *s = rowSrc[q] + o;
        const float *r0 = dy0 + q * dyStride, *r1 = d1 + q * dyStride;
        for (long x = 0; x < paddedWidth; x += 16 * chunks) {
            for (int c = 0; c < chunks; c++) {
                const __m512 v = _mm512_loadu_ps(s + x + 16 * c);
                a0[c] = _mm512_fmadd_ps(_mm512_loadu_ps(r0 + x + 16 * c), v, a0[c]);
                a1[c] = _mm512_fmadd_ps(_mm512_loadu_ps(r1 + x + 16 * c), v, a1[c]);
            }
        }
    }
    for (int c = 1; c < chunks; c++) { a0[0] = _mm512_add_ps(a0[0], a0[c]); a1[0] = _mm512_add_ps(a1[0], a1[c]); }
    *acc0 += _mm512_reduce_add_ps(a0[0]);
    if (acc1) *acc1 += _mm512_reduce_add_ps(a1[0]);
}

TARGET void ck_direct_wgrad2(const float *const *rowSrc, const float *dy0, const float *dy1, long dyStride,
                               long rows, const long *offsets, long taps, long paddedWidth,
                               float *acc0, float *acc1) {
    const float *d1 = dy1 ? dy1 : dy0;
    const long vectors = paddedWidth / 16;
    for (long t = 0; t < taps; t++) {
        float *b1 = dy1 ? acc1 + t : 0;
        if (vectors % 4 == 0)      wgrad_tap(rowSrc, offsets[t], dy0, d1, dyStride, rows, paddedWidth, acc0 + t, b1, 4);
        else if (vectors % 3 == 0) wgrad_tap(rowSrc, offsets[t], dy0, d1, dyStride, rows, paddedWidth, acc0 + t, b1, 3);
        else if (vectors % 2 == 0) wgrad_tap(rowSrc, offsets[t], dy0, d1, dyStride, rows, paddedWidth, acc0 + t, b1, 2);
        else                       wgrad_tap(rowSrc, offsets[t], dy0, d1, dyStride, rows, paddedWidth, acc0 + t, b1, 1);
    }
}

#else
void ck_direct_row2(const float *src, const long *offsets, long taps, const float *wpairs,
                      float *out0, float *out1, long width) {
    (void)src; (void)offsets; (void)taps; (void)wpairs; (void)out0; (void)out1; (void)width;
}
void ck_direct_wgrad2(const float *const *rowSrc, const float *dy0, const float *dy1, long dyStride,
                        long rows, const long *offsets, long taps, long paddedWidth,
                        float *acc0, float *acc1) {
    (void)rowSrc; (void)dy0; (void)dy1; (void)dyStride; (void)rows; (void)offsets; (void)taps;
    (void)paddedWidth; (void)acc0; (void)acc1;
}
#endif
