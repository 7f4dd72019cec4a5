// AVX-512F Conv3d with stride 2 on every axis and many output channels per input channel, such as
// the encoder's first layer (2→16, kernel 7, padding 3, 64³ → 32³): its vol2col would expand the
// input 86-fold (K = 686) for a GEMM of only 16 rows. Here the input rows are split once into even
// and odd elements (zero-padded), so every tap along W is one contiguous load, and 16 accumulators
// (8 output channels × 2 vectors of 16 positions) stay in registers over all taps.
#include "ckernels.h"

#include "simd.h"

#if defined(__x86_64__)
#include <string.h>

// Even/odd rows: E[PL + j] = x[2j], O[PL + j] = x[2j + 1], zero elsewhere; tap kw reads
// (s odd ? O : E)[PL + ⌊s/2⌋ + ow] with s = kw − pw.
static inline long left_pad(const ck_conv_s2_geometry *g) { return (g->pw + 1) / 2; }

static inline long row_length(const ck_conv_s2_geometry *g) {
    const long right = (g->kw - 1 - g->pw) >= 0 ? (g->kw - 1 - g->pw) / 2 : 0;
    return left_pad(g) + g->Wo + right + 1;
}

long ck_conv_s2_split_row_length(const ck_conv_s2_geometry *g) { return row_length(g); }

static TARGET void split_planes(const float *x, const ck_conv_s2_geometry *g, float *E, float *O, long idFirst, long idEnd) {
    const long Wq = row_length(g), PL = left_pad(g);
    for (long ci = 0; ci < g->Cin; ci++)
        for (long id = idFirst; id < idEnd; id++)
            for (long ih = 0; ih < g->H; ih++) {
                const long row = (ci * g->D + id) * g->H + ih;
                const float *src = x + row * g->W;
                float *e = E + row * Wq, *o = O + row * Wq;
                memset(e, 0, sizeof(float) * (size_t)Wq);
                memset(o, 0, sizeof(float) * (size_t)Wq);
                for (long j = 0; 2 * j < g->W && PL + j < Wq; j++) e[PL + j] = src[2 * j];
                for (long j = 0; 2 * j + 1 < g->W && PL + j < Wq; j++) o[PL + j] = src[2 * j + 1];
            }
}

static inline void plane_range(const ck_conv_s2_geometry *g, long odStart, long odEnd, long *first, long *end) {
    long a = 2 * odStart - g->pd, b = 2 * (odEnd - 1) - g->pd + g->kd;
    *first = a < 0 ? 0 : a;
    *end = b > g->D ? g->D : b;
}

ALWAYS_INLINE TARGET void forward_block(const float *E, const float *O, const float *w, float *y, const ck_conv_s2_geometry *g,
                                        long od, long oh, long co0, long q0, const int chunks) {
    const long Wq = row_length(g), PL = left_pad(g);
    const long taps = g->Cin * g->kd * g->kh * g->kw;
    __m512 acc[8][2];
    for (int c = 0; c < 8; c++) for (int h = 0; h < chunks; h++) acc[c][h] = _mm512_setzero_ps();
    for (long ci = 0; ci < g->Cin; ci++)
    for (long a = 0; a < g->kd; a++) {
        const long id = 2 * od - g->pd + a;
        if (id < 0 || id >= g->D) continue;
        for (long b = 0; b < g->kh; b++) {
            const long ih = 2 * oh - g->ph + b;
            if (ih < 0 || ih >= g->H) continue;
            const long row = (ci * g->D + id) * g->H + ih;
            const float *e = E + row * Wq + PL + q0, *o = O + row * Wq + PL + q0;
            const float *wt = w + ((ci * g->kd + a) * g->kh + b) * g->kw + co0 * taps;
            for (long l = 0; l < g->kw; l++) {
                const long s = l - g->pw;
                const float *src = ((s & 1) ? o : e) + (s >> 1);
                __m512 v[2];
                for (int h = 0; h < chunks; h++) v[h] = _mm512_loadu_ps(src + 16 * h);
                for (int c = 0; c < 8; c++) {
                    const __m512 wc = _mm512_set1_ps(wt[c * taps + l]);
                    for (int h = 0; h < chunks; h++) acc[c][h] = _mm512_fmadd_ps(wc, v[h], acc[c][h]);
                }
            }
        }
    }
    for (int c = 0; c < 8; c++)
        for (int h = 0; h < chunks; h++)
            _mm512_storeu_ps(y + (((co0 + c) * g->Do + od) * g->Ho + oh) * g->Wo + q0 + 16 * h, acc[c][h]);
}

TARGET void ck_conv_s2_forward(const float *x, const float *w, float *y, float *scratch,
                               const ck_conv_s2_geometry *g, long odStart, long odEnd) {
    float *E = scratch, *O = scratch + g->Cin * g->D * g->H * row_length(g);
    long idFirst, idEnd;
    plane_range(g, odStart, odEnd, &idFirst, &idEnd);
    split_planes(x, g, E, O, idFirst, idEnd);
    for (long od = odStart; od < odEnd; od++)
        for (long oh = 0; oh < g->Ho; oh++)
            for (long co0 = 0; co0 < g->Cout; co0 += 8) {
                long q0 = 0;
                for (; q0 + 32 <= g->Wo; q0 += 32) forward_block(E, O, w, y, g, od, oh, co0, q0, 2);
                if (q0 < g->Wo) forward_block(E, O, w, y, g, od, oh, co0, q0, 1);
            }
}

// dw[co, ci, a, b, l] += Σ dy[co, od, oh, ow] · x[ci, 2od − pd + a, 2oh − ph + b, 2ow − pw + l]:
// per output plane, 16 accumulators (4 output channels × 4 taps along W) run over its rows.
TARGET void ck_conv_s2_backward_weight(const float *x, const float *dy, float *dw, float *scratch,
                                       const ck_conv_s2_geometry *g, long odStart, long odEnd) {
    const long Wq = row_length(g), PL = left_pad(g);
    const long taps = g->Cin * g->kd * g->kh * g->kw;
    const long dStride = g->Do * g->Ho * g->Wo;
    float *E = scratch, *O = scratch + g->Cin * g->D * g->H * Wq;
    long idFirst, idEnd;
    plane_range(g, odStart, odEnd, &idFirst, &idEnd);
    split_planes(x, g, E, O, idFirst, idEnd);
    for (long od = odStart; od < odEnd; od++)
    for (long ci = 0; ci < g->Cin; ci++)
    for (long a = 0; a < g->kd; a++) {
        const long id = 2 * od - g->pd + a;
        if (id < 0 || id >= g->D) continue;
        for (long b = 0; b < g->kh; b++)
        for (long co0 = 0; co0 < g->Cout; co0 += 4)
        for (long l0 = 0; l0 < g->kw; l0 += 4) {
            const int lanes = g->kw - l0 < 4 ? (int)(g->kw - l0) : 4;
            __m512 acc[4][4];
            for (int c = 0; c < 4; c++) for (int k = 0; k < 4; k++) acc[c][k] = _mm512_setzero_ps();
            for (long oh = 0; oh < g->Ho; oh++) {
                const long ih = 2 * oh - g->ph + b;
                if (ih < 0 || ih >= g->H) continue;
                const long row = (ci * g->D + id) * g->H + ih;
                const float *src[4];
                for (int k = 0; k < 4; k++) {
                    const long s = l0 + (k < lanes ? k : lanes - 1) - g->pw;   // a short block repeats its last tap
                    src[k] = ((s & 1) ? O : E) + row * Wq + PL + (s >> 1);
                }
                const float *d = dy + ((co0 * g->Do + od) * g->Ho + oh) * g->Wo;
                for (long j = 0; j < g->Wo; j += 16) {
                    __m512 v[4];
                    for (int k = 0; k < 4; k++) v[k] = _mm512_loadu_ps(src[k] + j);
                    for (int c = 0; c < 4; c++) {
                        const __m512 dv = _mm512_loadu_ps(d + c * dStride + j);
                        for (int k = 0; k < 4; k++) acc[c][k] = _mm512_fmadd_ps(dv, v[k], acc[c][k]);
                    }
                }
            }
            for (int c = 0; c < 4; c++) {
                float *out = dw + (co0 + c) * taps + ((ci * g->kd + a) * g->kh + b) * g->kw + l0;
                for (int k = 0; k < lanes; k++) out[k] += _mm512_reduce_add_ps(acc[c][k]);
            }
        }
    }
}

#else
long ck_conv_s2_split_row_length(const ck_conv_s2_geometry *g) { (void)g; return 0; }
void ck_conv_s2_forward(const float *x, const float *w, float *y, float *scratch,
                        const ck_conv_s2_geometry *g, long odStart, long odEnd) {
    (void)x; (void)w; (void)y; (void)scratch; (void)g; (void)odStart; (void)odEnd;
}
void ck_conv_s2_backward_weight(const float *x, const float *dy, float *dw, float *scratch,
                                const ck_conv_s2_geometry *g, long odStart, long odEnd) {
    (void)x; (void)dy; (void)dw; (void)scratch; (void)g; (void)odStart; (void)odEnd;
}
#endif
