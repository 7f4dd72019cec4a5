#ifndef CKERNELS_H
#define CKERNELS_H

/// AVX-512F inner loops of the engine's convolution kernels (Tensor/Kernels). The package compiles
/// Swift for baseline x86-64, where the Swift kernels' SIMD16 becomes four SSE operations without
/// FMA; these loops carry their own target attributes (no package-wide compiler flags, the binary
/// still runs on any x86-64) and are called only after ckernels_avx512_available() said yes.

/// 1 when this CPU executes AVX-512F (and the loops below may be called), else 0.
int ckernels_avx512_available(void);

// MARK: direct stride-1 convolution (DirectConv.swift), layers with few output channels

/// One output row for up to two output channels:
///   out0[x] = Σ_t wpairs[2t]   · src[offsets[t] + x]
///   out1[x] = Σ_t wpairs[2t+1] · src[offsets[t] + x]   (skipped when out1 is NULL)
/// for x in [0, width). src must be readable for 16·⌈width/16⌉ floats from every offset.
void ck_direct_row2(const float *src, const long *offsets, long taps, const float *wpairs,
                    float *out0, float *out1, long width);

/// Weight-gradient accumulation over `rows` output rows of two output channels:
///   acc0[t] += Σ_q Σ_x dy0[q·dyStride + x] · rowSrc[q][offsets[t] + x]   (acc1 with dy1, skipped when NULL)
/// for x in [0, paddedWidth) — paddedWidth a multiple of 16, dy rows zero beyond the real width.
void ck_direct_wgrad2(const float *const *rowSrc, const float *dy0, const float *dy1, long dyStride,
                      long rows, const long *offsets, long taps, long paddedWidth,
                      float *acc0, float *acc1);

// MARK: vol2col (Vol2Col.swift)

/// The geometry of one vol2col fill: input [channels, D, H, rows of rowLen floats], output rows
/// (od, oh) of width Wo. With stride W sw > 1 each input row is stored deinterleaved as sw phases
/// of Wq floats (Vol2Col.deinterleave); with sw = 1, rowLen = Wq = W.
typedef struct {
    long channels, D, H, W, rowLen, Wq;
    long Ho, Wo;
    long kd, kh, kw, sd, sh, sw, pd, ph, pw;
} ck_vol2col_geometry;

/// col[(c, i, j, l), (row, ow)] = x[c, od·sd − pd + i, oh·sh − ph + j, ow·sw − pw + l] (0 outside)
/// for the output rows rowStart ..< rowStart + rowCount; col has rowCount·Wo columns.
void ck_vol2col_fill(const float *x, const ck_vol2col_geometry *g, long rowStart, long rowCount, float *col);

/// The adjoint of the fill for stride W sw = 1 (rowLen = Wq = W): dx[c, id, ih, iw] += col[(c, i, j, l),
/// (row, ow)] over the same index map.
void ck_col2vol_accumulate(const float *col, const ck_vol2col_geometry *g, long rowStart, long rowCount, float *dx);

// MARK: ConvTranspose3d kernel 4, stride 2, padding 1 (ConvTranspose3d.swift)

/// y[Cout, 2D, 2H, 2W] = convTranspose(x[Cin, D, H, W], w[Cin, Cout, 4, 4, 4]) of one sample, no
/// bias, for the output planes odStart ..< odEnd only. Requires W % 16 == 0 and Cout % 4 == 0.
void ck_deconv_k4s2p1_forward(const float *x, const float *w, float *y, long Cin, long Cout,
                              long D, long H, long W, long odStart, long odEnd);

/// The data gradient of that layer: dx[Cin, D, H, W] from dy[Cout, 2D, 2H, 2W] of one sample, for
/// the input planes qdStart ..< qdEnd only. Requires W % 16 == 0 and Cin % 8 == 0.
void ck_deconv_k4s2p1_backward_data(const float *dy, const float *w, float *dx, long Cin, long Cout,
                                    long D, long H, long W, long qdStart, long qdEnd);

/// Its weight gradient, accumulated: dw[Cin, Cout, 4, 4, 4] += the contribution of the input planes
/// qdStart ..< qdEnd of one sample (x [Cin, D, H, W], dy [Cout, 2D, 2H, 2W]). scratch holds
/// 2·Cout·2D·2H·(W + 1) floats. Requires W % 16 == 0 and Cin % 4 == 0.
void ck_deconv_k4s2p1_backward_weight(const float *x, const float *dy, float *scratch, float *dw,
                                      long Cin, long Cout, long D, long H, long W, long qdStart, long qdEnd);

// MARK: Conv3d with stride 2 on every axis, many output channels (StridedDirectConv.swift)

/// One sample's geometry: x [Cin, D, H, W], w [Cout, Cin, kd, kh, kw], y [Cout, Do, Ho, Wo].
typedef struct {
    long Cin, Cout, D, H, W, Do, Ho, Wo, kd, kh, kw, pd, ph, pw;
} ck_conv_s2_geometry;

/// Floats per even/odd input row in the scratch; the scratch holds 2·Cin·D·H of them.
long ck_conv_s2_split_row_length(const ck_conv_s2_geometry *g);

/// y for the output planes odStart ..< odEnd (no bias). Requires Wo % 16 == 0 and Cout % 8 == 0.
void ck_conv_s2_forward(const float *x, const float *w, float *y, float *scratch,
                        const ck_conv_s2_geometry *g, long odStart, long odEnd);

/// dw += the weight gradient of the output planes odStart ..< odEnd. Requires Wo % 16 == 0 and
/// Cout % 4 == 0.
void ck_conv_s2_backward_weight(const float *x, const float *dy, float *dw, float *scratch,
                                const ck_conv_s2_geometry *g, long odStart, long odEnd);

#endif
