// AVX-512F ConvTranspose3d with kernel 4, stride 2, padding 1 (the decoder's upsampling): forward,
// data gradient and weight gradient, computed directly from NCDHW rows; see include/ckernels.h.
//
// Per axis, output o = 2q + φ receives input i through kernel tap k with o = 2i − 1 + k:
//   φ = 0: (k = 1, i = q), (k = 3, i = q − 1);   φ = 1: (k = 0, i = q + 1), (k = 2, i = q).
// Along W both phases come out of one input row r: even[q] = w1·r[q] + w3·r[q−1] and
// odd[q] = w0·r[q+1] + w2·r[q]; they are interleaved into the output row on store. No vol2col,
// no GEMM packing, no strided scatter: the weights are broadcast and 16 accumulators stay in
// registers (4 output channels × 2 phases × 2 vectors of 16 positions).
#include "ckernels.h"

#include "simd.h"

#if defined(__x86_64__)

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

ALWAYS_INLINE TARGET void forward_block(const float *x, const float *w, float *yrow, long co0, long Cin, long Cout, long D, long H, long W,
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

// Data gradient: dx[ci, q] = Σ_co Σ_k w[ci, co, k] · dy[co, 2q − 1 + k] per axis. Along W the four
// taps read dy at 2q − 1, 2q, 2q + 1, 2q + 2: the odd and even elements of a dy row, split by
// permutes from pairs of loads (shifted by one element pair for the outer taps).
ALWAYS_INLINE TARGET void backward_block(const float *dy, const float *w, float *dxrow, long ci0, long Cout, long D, long H, long W,
                    long nd, const long *kd, const long *od, long nh, const long *kh, const long *oh,
                    long q0, long channelStride, const int chunks) {
    __m512 acc[8][2];
    for (int c = 0; c < 8; c++) for (int h = 0; h < chunks; h++) acc[c][h] = _mm512_setzero_ps();
    const long Ho = 2 * H, Wo = 2 * W;
    for (long co = 0; co < Cout; co++)
    for (long a = 0; a < nd; a++)
    for (long b = 0; b < nh; b++) {
        const float *r = dy + ((co * 2 * D + od[a]) * Ho + oh[b]) * Wo + 2 * q0;
        __m512 em[2], e0[2], o0[2], e1[2];   // dy at 2q − 1, 2q, 2q + 1, 2q + 2
        for (int h = 0; h < chunks; h++) {
            const float *p = r + 32 * h;
            const int first = q0 == 0 && h == 0, last = q0 + 16 * (h + 1) == W;
            const __m512 A = _mm512_loadu_ps(p), B = _mm512_loadu_ps(p + 16);
            e0[h] = ck_even(A, B);
            o0[h] = ck_odd(A, B);
            const __m512 Am = _mm512_maskz_loadu_ps(first ? (__mmask16)0xFFFC : (__mmask16)0xFFFF, (const char *)p - 8);
            const __m512 Bm = _mm512_loadu_ps(p + 14);
            em[h] = ck_odd(Am, Bm);
            const __m512 A2 = _mm512_loadu_ps(p + 2);
            const __m512 B2 = _mm512_maskz_loadu_ps(last ? (__mmask16)0x3FFF : (__mmask16)0xFFFF, p + 18);
            e1[h] = ck_even(A2, B2);
        }
        const float *wb = w + ((ci0 * Cout + co) * 4 + kd[a]) * 16 + kh[b] * 4;
        for (int c = 0; c < 8; c++) {
            const float *wc = wb + c * Cout * 64;
            const __m512 w0 = _mm512_set1_ps(wc[0]), w1 = _mm512_set1_ps(wc[1]), w2 = _mm512_set1_ps(wc[2]), w3 = _mm512_set1_ps(wc[3]);
            for (int h = 0; h < chunks; h++)
                acc[c][h] = _mm512_fmadd_ps(w0, em[h], _mm512_fmadd_ps(w1, e0[h], _mm512_fmadd_ps(w2, o0[h], _mm512_fmadd_ps(w3, e1[h], acc[c][h]))));
        }
    }
    for (int c = 0; c < 8; c++)
        for (int h = 0; h < chunks; h++) _mm512_storeu_ps(dxrow + c * channelStride + q0 + 16 * h, acc[c][h]);
}

// The (tap, output index) pairs that read input index i along an axis of output length n = 2·(input length).
static inline int axis_readers(long i, long n, long k[4], long o[4]) {
    int c = 0;
    for (long t = 0; t < 4; t++) { const long x = 2 * i - 1 + t; if (x >= 0 && x < n) { k[c] = t; o[c] = x; c++; } }
    return c;
}

TARGET void ck_deconv_k4s2p1_backward_data(const float *dy, const float *w, float *dx, long Cin, long Cout,
                                           long D, long H, long W, long qdStart, long qdEnd) {
    const long channelStride = D * H * W;
    for (long qd = qdStart; qd < qdEnd; qd++) {
        long kd[4], od[4];
        const long nd = axis_readers(qd, 2 * D, kd, od);
        for (long qh = 0; qh < H; qh++) {
            long kh[4], oh[4];
            const long nh = axis_readers(qh, 2 * H, kh, oh);
            for (long ci0 = 0; ci0 < Cin; ci0 += 8) {
                float *row = dx + ((ci0 * D + qd) * H + qh) * W;
                long q0 = 0;
                for (; q0 + 32 <= W; q0 += 32) backward_block(dy, w, row, ci0, Cout, D, H, W, nd, kd, od, nh, kh, oh, q0, channelStride, 2);
                if (q0 < W) backward_block(dy, w, row, ci0, Cout, D, H, W, nd, kd, od, nh, kh, oh, q0, channelStride, 1);
            }
        }
    }
}

// Weight gradient: dw[ci, co, kd, kh, kw] += Σ_q x[ci, q] · dy[co, 2q − 1 + k]. The dy planes this
// range of input planes reads are first split into even and odd elements with a zero pad,
//   E = [dy[0], dy[2], …, dy[2W − 2], 0]   and   O = [0, dy[1], dy[3], …, dy[2W − 1]],
// so the four W taps are plain loads: O[q] (kw 0), E[q] (kw 1), O[q + 1] (kw 2), E[q + 1] (kw 3).
// 16 accumulators (4 input channels × 4 taps) run over all rows of a plane for one output channel.
TARGET void ck_deconv_k4s2p1_backward_weight(const float *x, const float *dy, float *scratch, float *dw,
                                             long Cin, long Cout, long D, long H, long W, long qdStart, long qdEnd) {
    const long Ho = 2 * H, Wo = 2 * W, Wp = W + 1;
    float *E = scratch, *O = scratch + Cout * 2 * D * Ho * Wp;
    const long odFirst = 2 * qdStart - 1 < 0 ? 0 : 2 * qdStart - 1;
    const long odEnd = 2 * qdEnd + 1 > 2 * D ? 2 * D : 2 * qdEnd + 1;
    for (long co = 0; co < Cout; co++)
        for (long od = odFirst; od < odEnd; od++)
            for (long oh = 0; oh < Ho; oh++) {
                const long row = (co * 2 * D + od) * Ho + oh;
                const float *src = dy + row * Wo;
                float *e = E + row * Wp, *o = O + row * Wp;
                o[0] = 0;
                for (long j = 0; j < W; j += 16) {
                    const __m512 A = _mm512_loadu_ps(src + 2 * j), B = _mm512_loadu_ps(src + 2 * j + 16);
                    _mm512_storeu_ps(e + j, ck_even(A, B));
                    _mm512_storeu_ps(o + j + 1, ck_odd(A, B));
                }
                e[W] = 0;
            }
    for (long qd = qdStart; qd < qdEnd; qd++)
    for (long kd = 0; kd < 4; kd++) {
        const long od = 2 * qd - 1 + kd;
        if (od < 0 || od >= 2 * D) continue;
        for (long kh = 0; kh < 4; kh++)
        for (long ci0 = 0; ci0 < Cin; ci0 += 4)
        for (long co = 0; co < Cout; co++) {
            __m512 acc[4][4];
            for (int c = 0; c < 4; c++) for (int k = 0; k < 4; k++) acc[c][k] = _mm512_setzero_ps();
            for (long qh = 0; qh < H; qh++) {
                const long oh = 2 * qh - 1 + kh;
                if (oh < 0 || oh >= Ho) continue;
                const float *xr = x + ((ci0 * D + qd) * H + qh) * W;
                const long row = (co * 2 * D + od) * Ho + oh;
                const float *e = E + row * Wp, *o = O + row * Wp;
                for (long j = 0; j < W; j += 16) {
                    const __m512 t0 = _mm512_loadu_ps(o + j), t1 = _mm512_loadu_ps(e + j);
                    const __m512 t2 = _mm512_loadu_ps(o + j + 1), t3 = _mm512_loadu_ps(e + j + 1);
                    for (int c = 0; c < 4; c++) {
                        const __m512 v = _mm512_loadu_ps(xr + c * D * H * W + j);
                        acc[c][0] = _mm512_fmadd_ps(v, t0, acc[c][0]);
                        acc[c][1] = _mm512_fmadd_ps(v, t1, acc[c][1]);
                        acc[c][2] = _mm512_fmadd_ps(v, t2, acc[c][2]);
                        acc[c][3] = _mm512_fmadd_ps(v, t3, acc[c][3]);
                    }
                }
            }
            for (int c = 0; c < 4; c++) {
                float *d = dw + (((ci0 + c) * Cout + co) * 4 + kd) * 16 + kh * 4;
                for (int k = 0; k < 4; k++) d[k] += _mm512_reduce_add_ps(acc[c][k]);
            }
        }
    }
}

#else
void ck_deconv_k4s2p1_forward(const float *x, const float *w, float *y, long Cin, long Cout,
                              long D, long H, long W, long odStart, long odEnd) {
    (void)x; (void)w; (void)y; (void)Cin; (void)Cout; (void)D; (void)H; (void)W; (void)odStart; (void)odEnd;
}
void ck_deconv_k4s2p1_backward_data(const float *dy, const float *w, float *dx, long Cin, long Cout,
                                    long D, long H, long W, long qdStart, long qdEnd) {
    (void)dy; (void)w; (void)dx; (void)Cin; (void)Cout; (void)D; (void)H; (void)W; (void)qdStart; (void)qdEnd;
}
void ck_deconv_k4s2p1_backward_weight(const float *x, const float *dy, float *scratch, float *dw,
                                      long Cin, long Cout, long D, long H, long W, long qdStart, long qdEnd) {
    (void)x; (void)dy; (void)scratch; (void)dw; (void)Cin; (void)Cout; (void)D; (void)H; (void)W; (void)qdStart; (void)qdEnd;
}
#endif
