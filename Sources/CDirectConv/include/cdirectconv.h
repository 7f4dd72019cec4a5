#ifndef CDIRECTCONV_H
#define CDIRECTCONV_H

/// AVX-512F inner loops of the direct stride-1 convolution (Tensor/Kernels/DirectConv.swift) for
/// layers with few output channels. The package compiles Swift for baseline x86-64, where the
/// Swift kernel's SIMD16 becomes four SSE operations without FMA; these loops carry their own
/// target attributes and run only after cdirectconv_available() said yes.

/// 1 when this CPU executes AVX-512F (and the loops below may be called), else 0.
int cdirectconv_available(void);

/// One output row for up to two output channels:
///   out0[x] = Σ_t wpairs[2t]   · src[offsets[t] + x]
///   out1[x] = Σ_t wpairs[2t+1] · src[offsets[t] + x]   (skipped when out1 is NULL)
/// for x in [0, width). src must be readable for 16·⌈width/16⌉ floats from every offset.
void cdirectconv_row2(const float *src, const long *offsets, long taps, const float *wpairs,
                      float *out0, float *out1, long width);

/// Weight-gradient accumulation over `rows` output rows of two output channels:
///   acc0[t] += Σ_q Σ_x dy0[q·dyStride + x] · rowSrc[q][offsets[t] + x]   (acc1 with dy1, skipped when NULL)
/// for x in [0, paddedWidth) — paddedWidth a multiple of 16, dy rows zero beyond the real width.
void cdirectconv_wgrad2(const float *const *rowSrc, const float *dy0, const float *dy1, long dyStride,
                        long rows, const long *offsets, long taps, long paddedWidth,
                        float *acc0, float *acc1);

#endif
