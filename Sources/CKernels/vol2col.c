// AVX-512F vol2col fill and its adjoint, col2vol; see include/ckernels.h. Each output row is one masked
// load and one store per 16 columns: the zero edges (padding) come from the mask, not from separate loops.
#include "ckernels.h"

#include "simd.h"

#if defined(__x86_64__)

// The output columns ow ∈ [*lo, *hi] whose input column iw = ow·sw − pw + l lies in [0, W)
// (empty when *lo > *hi).
static inline void valid_columns(const ck_vol2col_geometry *g, long l, long *lo, long *hi) {
    *lo = g->pw - l <= 0 ? 0 : (g->pw - l + g->sw - 1) / g->sw;
    const long hiNum = g->W - 1 + g->pw - l;
    *hi = hiNum < 0 ? -1 : hiNum / g->sw;
    if (*hi > g->Wo - 1) *hi = g->Wo - 1;
}

TARGET void ck_vol2col_fill(const float *x, const ck_vol2col_geometry *g, long rowStart, long rowCount, float *col) {
    const long T = rowCount * g->Wo, Wo = g->Wo;
    long r = 0;
    for (long c = 0; c < g->channels; c++)
    for (long i = 0; i < g->kd; i++)
    for (long j = 0; j < g->kh; j++)
    for (long l = 0; l < g->kw; l++, r++) {
        float *dst = col + r * T;
        long lo, hi;
        valid_columns(g, l, &lo, &hi);
        // iw = ow·sw + shift = (ow + q)·sw + phase
        const long shift = l - g->pw;
        const long phase = ((shift % g->sw) + g->sw) % g->sw;
        const long q = (shift - phase) / g->sw;
        for (long rr = 0; rr < rowCount; rr++) {
            const long row = rowStart + rr, od = row / g->Ho, oh = row - od * g->Ho;
            const long id = od * g->sd - g->pd + i, ih = oh * g->sh - g->ph + j;
            float *out = dst + rr * Wo;
            const int inside = id >= 0 && id < g->D && ih >= 0 && ih < g->H && lo <= hi;
            const float *src = inside ? x + ((c * g->D + id) * g->H + ih) * g->rowLen + phase * g->Wq + q : x;
            for (long ow = 0; ow < Wo; ow += 16) {
                const long n = Wo - ow < 16 ? Wo - ow : 16;
                const __mmask16 load = inside ? ck_lanes(lo - ow, hi + 1 - ow) & ck_lanes(0, n) : 0;
                // Masked-off lanes are not read, so src + ow may point before the row.
                const __m512 v = _mm512_maskz_loadu_ps(load, (const void *)((const char *)src + 4 * ow));
                _mm512_mask_storeu_ps(out + ow, ck_lanes(0, n), v);
            }
        }
    }
}

TARGET void ck_col2vol_accumulate(const float *col, const ck_vol2col_geometry *g, long rowStart, long rowCount, float *dx) {
    const long T = rowCount * g->Wo, Wo = g->Wo;
    long r = 0;
    for (long c = 0; c < g->channels; c++)
    for (long i = 0; i < g->kd; i++)
    for (long j = 0; j < g->kh; j++)
    for (long l = 0; l < g->kw; l++, r++) {
        const float *src = col + r * T;
        long lo, hi;
        valid_columns(g, l, &lo, &hi);
        if (lo > hi) continue;
        for (long rr = 0; rr < rowCount; rr++) {
            const long row = rowStart + rr, od = row / g->Ho, oh = row - od * g->Ho;
            const long id = od * g->sd - g->pd + i, ih = oh * g->sh - g->ph + j;
            if (id < 0 || id >= g->D || ih < 0 || ih >= g->H) continue;
            const float *s = src + rr * Wo;
            float *dst = dx + ((c * g->D + id) * g->H + ih) * g->W - g->pw + l;   // dst[ow] ↔ iw = ow − pw + l
            for (long ow = lo - lo % 16; ow <= hi; ow += 16) {
                const __mmask16 k = ck_lanes(lo - ow, hi + 1 - ow);
                const __m512 sum = _mm512_add_ps(_mm512_maskz_loadu_ps(k, (const char *)dst + 4 * ow), _mm512_maskz_loadu_ps(k, s + ow));
                _mm512_mask_storeu_ps((char *)dst + 4 * ow, k, sum);
            }
        }
    }
}

#else
void ck_vol2col_fill(const float *x, const ck_vol2col_geometry *g, long rowStart, long rowCount, float *col) {
    (void)x; (void)g; (void)rowStart; (void)rowCount; (void)col;
}
void ck_col2vol_accumulate(const float *col, const ck_vol2col_geometry *g, long rowStart, long rowCount, float *dx) {
    (void)col; (void)g; (void)rowStart; (void)rowCount; (void)dx;
}
#endif
