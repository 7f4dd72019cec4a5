// AVX-512F ConvTranspose3d with kernel 4, stride 2, padding 1 (the decoder's upsampling), forward
// and data gradient, computed directly from NCDHW rows; see include/ckernels.h.
//
// Per axis, output o = 2q + φ receives input i through kernel tap k with o = 2i − 1 + k:
//   φ = 0: (k = 1, i = q), (k = 3, i = q − 1);   φ = 1: (k = 0, i = q + 1), (k = 2, i = q).
// Along W both phases come out of one input row r: even[q] = w1·r[q] + w3·r[q−1] and
// odd[q] = w0·r[q+1] + w2·r[q]; they are interleaved into the output row on store. No vol2col,
// no GEMM packing, no strided scatter: the weights are broadcast and 16 accumulators stay in
// registers (4 output channels × 2 phases × 2 vectors of 16 positions).
#include "ckernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))

// The (tap, input index) pairs of output index o along an axis of input length n; returns how many.
static inline int axis_taps(long o, long n, long k[2], long i[2]) {
    const long q = o >> 1;
    long kk[2], ii[2];
    if ((o & 1) == 0) { kk[0] = 1; ii[0] = q; kk[1] = 3; ii[1] = q - 1; }
    else              { kk[0] = 0; ii[0] = q + 1; kk[1] = 2; ii[1] = q; }
    int c = 0;
    for (int t = 0; t < 2; t++) if (ii[t] >= 0 && ii[t] < n) { k[c] = kk[t]; i[c] = ii[t]; c++; }
    return c;
}

static inline TARGET __attribute__((always_inline))
void forward_block(const float *x, const float *w, float *yrow, long co0, long Cin, long Cout, long D, long H, long W,
                   long nd, const long *kd, const long *id, long nh, const long *kh, const long *ih,
                   long q0, long channelStride, const int chunks) {
    __m512 e[4][2], o[4][2];
    for (int c = 0; c < 4; c++) for (int h = 0; h < chunks; h++) { e[c][h] = _mm512_setzero_ps(); o[c][h] = _mm512_setzero_ps(); }
    const __mmask16 notFirst = q0 == 0 ? (__mmask16)0xFFFE : (__mmask16)0xFFFF;
    const __mmask16 notLast = q0 + 16 * chunks == W ? (__mmask16)0x7FFF : (__mmask16)0xFFFF;
    for (long ci = 0; ci < Cin; ci++)
    for (long a = 0; a < nd; a++)
    for (long b = 0; b < nh; b++) {
        const float *r = x + ((ci * D + id[a]) * H + ih[b]) * W + q0;
        __m512 cur[2], prev[2], next[2];
        for (int h = 0; h < chunks; h++) {
            cur[h] = _mm512_loadu_ps(r + 16 * h);
            prev[h] = _mm512_maskz_loadu_ps(h == 0 ? notFirst : 0xFFFF, (const char *)r + 4 * (16 * h - 1));
            next[h] = _mm512_maskz_loadu_ps(h == chunks - 1 ? notLast : 0xFFFF, r + 16 * h + 1);
        }
        const float *wb = w + ((ci * Cout + co0) * 4 + kd[a]) * 16 + kh[b] * 4;
        for (int c = 0; c < 4; c++) {
            const float *wc = wb + c * 64;
            const __m512 w0 = _mm512_set1_ps(wc[0]), w1 = _mm512_set1_ps(wc[1]), w2 = _mm512_set1_ps(wc[2]), w3 = _mm512_set1_ps(wc[3]);
            for (int h = 0; h < chunks; h++) {
                e[c][h] = _mm512_fmadd_ps(w1, cur[h], _mm512_fmadd_ps(w3, prev[h], e[c][h]));
                o[c][h] = _mm512_fmadd_ps(w0, next[h], _mm512_fmadd_ps(w2, cur[h], o[c][h]));
            }
        }
    }
    const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    for (int c = 0; c < 4; c++) {
        float *out = yrow + c * channelStride + 2 * q0;
        for (int h = 0; h < chunks; h++) {
            _mm512_storeu_ps(out + 32 * h, _mm512_permutex2var_ps(e[c][h], lo, o[c][h]));
            _mm512_storeu_ps(out + 32 * h + 16, _mm512_permutex2var_ps(e[c][h], hi, o[c][h]));
        }
    }
}

TARGET void ck_deconv_k4s2p1_forward(const float *x, const float *w, float *y, long Cin, long Cout,
                                     long D, long H, long W, long odStart, long odEnd) {
    const long Ho = 2 * H, Wo = 2 * W, channelStride = 2 * D * Ho * Wo;
    for (long od = odStart; od < odEnd; od++) {
        long kd[2], id[2];
        const long nd = axis_taps(od, D, kd, id);
        for (long oh = 0; oh < Ho; oh++) {
            long kh[2], ih[2];
            const long nh = axis_taps(oh, H, kh, ih);
            for (long co0 = 0; co0 < Cout; co0 += 4) {
                float *yrow = y + ((co0 * 2 * D + od) * Ho + oh) * Wo;
                long q0 = 0;
                for (; q0 + 32 <= W; q0 += 32) forward_block(x, w, yrow, co0, Cin, Cout, D, H, W, nd, kd, id, nh, kh, ih, q0, channelStride, 2);
                if (q0 < W) forward_block(x, w, yrow, co0, Cin, Cout, D, H, W, nd, kd, id, nh, kh, ih, q0, channelStride, 1);
            }
        }
    }
}

#else
void ck_deconv_k4s2p1_forward(const float *x, const float *w, float *y, long Cin, long Cout,
                              long D, long H, long W, long odStart, long odEnd) {
    (void)x; (void)w; (void)y; (void)Cin; (void)Cout; (void)D; (void)H; (void)W; (void)odStart; (void)odEnd;
}
#endif
