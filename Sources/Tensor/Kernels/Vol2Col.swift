import CKernels

/// Tiled vol2col / col2vol for NCDHW convolutions.
///
/// A tile is a run of whole output rows (od, oh) of one sample: T = rows·W' columns. The column
/// buffer holds [Cin·kD·kH·kW, T] floats — bounded by `Vol2Col.budget`, never the whole volume
/// (a full im2col of a 64³ sample with Cin·k³ = 432 rows would be 450 MB).
enum Vol2Col {
    /// Upper bound on a column buffer, in floats (2 MiB: stays in L2 alongside the GEMM's panels).
    static let budget = 1 << 19

    /// Output rows (od, oh pairs) per tile.
    static func rowsPerTile(_ g: Conv3dGeometry) -> Int {
        max(1, min(g.outSize.d * g.outSize.h, budget / max(1, g.patchSize * g.outSize.w)))
    }

    /// Range of ow for which iw = ow·s − p + l lies in 0..<W.
    @inline(__always)
    static func validRange(_ l: Int, _ s: Int, _ p: Int, inW: Int, outW: Int) -> Range<Int> {
        // iw ≥ 0 ⇔ ow ≥ ceil((p − l) / s); iw ≤ W − 1 ⇔ ow ≤ floor((W − 1 + p − l) / s)
        let lo = p - l <= 0 ? 0 : (p - l + s - 1) / s
        let hiNum = inW - 1 + p - l
        let hi = hiNum < 0 ? -1 : min(outW - 1, hiNum / s)
        return lo > hi ? 0..<0 : lo..<(hi + 1)
    }

    /// Fills col[K, T] (K = Cin·k³, T = rowCount·W') from one sample `x` [Cin, D, H, W].
    static func fill(_ x: UnsafePointer<Float>, _ g: Conv3dGeometry, rowStart: Int, rowCount: Int,
                     col: UnsafeMutablePointer<Float>) {
        if AVX512Loops.enabled && g.stride.w == 1 {
            var c = cGeometry(g, rowLen: g.inSize.w, phaseLength: g.inSize.w)
            ck_vol2col_fill(x, &c, rowStart, rowCount, col)
            return
        }
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Ho, Wo) = (g.outSize.h, g.outSize.w)
        let (kd, kh, kw) = (g.kernel.d, g.kernel.h, g.kernel.w)
        let (sd, sh, sw) = (g.stride.d, g.stride.h, g.stride.w)
        let (pd, ph, pw) = (g.padding.d, g.padding.h, g.padding.w)
        let T = rowCount * Wo
        var r = 0
        for c in 0..<g.inChannels {
            for i in 0..<kd {
                for j in 0..<kh {
                    for l in 0..<kw {
                        let dst = col + r * T
                        r += 1
                        let valid = validRange(l, sw, pw, inW: W, outW: Wo)
                        for rr in 0..<rowCount {
                            let q = rowStart + rr
                            let od = q / Ho, oh = q - (q / Ho) * Ho
                            let id = od * sd - pd + i, ih = oh * sh - ph + j
                            let out = dst + rr * Wo
                            // Plain loops, not update(from:)/memset: rows are often short (W′ = 2…64)
                            // and a library call per row costs more than the copy.
                            if id < 0 || id >= D || ih < 0 || ih >= H || valid.isEmpty {
                                for ow in 0..<Wo { out[ow] = 0 }
                                continue
                            }
                            for ow in 0..<valid.lowerBound { out[ow] = 0 }
                            for ow in valid.upperBound..<Wo { out[ow] = 0 }
                            let src = x + ((c * D + id) * H + ih) * W - pw + l
                            if sw == 1 {
                                for ow in valid { out[ow] = src[ow] }
                            } else {
                                for ow in valid { out[ow] = src[ow * sw] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds col[K, T] back into one sample `dx` [Cin, D, H, W] (the adjoint of `fill`).
    static func accumulate(_ col: UnsafePointer<Float>, _ g: Conv3dGeometry, rowStart: Int, rowCount: Int,
                           into dx: UnsafeMutablePointer<Float>) {
        if AVX512Loops.enabled && g.stride.w == 1 {
            var c = cGeometry(g, rowLen: g.inSize.w, phaseLength: g.inSize.w)
            ck_col2vol_accumulate(col, &c, rowStart, rowCount, dx)
            return
        }
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Ho, Wo) = (g.outSize.h, g.outSize.w)
        let (kd, kh, kw) = (g.kernel.d, g.kernel.h, g.kernel.w)
        let (sd, sh, sw) = (g.stride.d, g.stride.h, g.stride.w)
        let (pd, ph, pw) = (g.padding.d, g.padding.h, g.padding.w)
        let T = rowCount * Wo
        var r = 0
        for c in 0..<g.inChannels {
            for i in 0..<kd {
                for j in 0..<kh {
                    for l in 0..<kw {
                        let src = col + r * T
                        r += 1
                        let valid = validRange(l, sw, pw, inW: W, outW: Wo)
                        if valid.isEmpty { continue }
                        for rr in 0..<rowCount {
                            let q = rowStart + rr
                            let od = q / Ho, oh = q - (q / Ho) * Ho
                            let id = od * sd - pd + i, ih = oh * sh - ph + j
                            if id < 0 || id >= D || ih < 0 || ih >= H { continue }
                            let s = src + rr * Wo
                            let dst = dx + ((c * D + id) * H + ih) * W - pw + l
                            if sw == 1 {
                                for ow in valid { dst[ow] += s[ow] }
                            } else {
                                for ow in valid { dst[ow * sw] += s[ow] }
                            }
                        }
                    }
                }
            }
        }
    }

    static func cGeometry(_ g: Conv3dGeometry, rowLen: Int, phaseLength: Int) -> ck_vol2col_geometry {
        ck_vol2col_geometry(channels: g.inChannels, D: g.inSize.d, H: g.inSize.h, W: g.inSize.w, rowLen: rowLen, Wq: phaseLength,
                            Ho: g.outSize.h, Wo: g.outSize.w, kd: g.kernel.d, kh: g.kernel.h, kw: g.kernel.w,
                            sd: g.stride.d, sh: g.stride.h, sw: g.stride.w, pd: g.padding.d, ph: g.padding.h, pw: g.padding.w)
    }

    // MARK: strided W

    /// Row length of the deinterleaved layout: sw phases of ⌈W / sw⌉ elements.
    static func phaseRow(_ g: Conv3dGeometry) -> Int { g.stride.w * ((g.inSize.w + g.stride.w - 1) / g.stride.w) }

    /// Rewrites every W row of x (`rows` rows of W floats) as its sw phases
    /// [x[r], x[sw + r], x[2·sw + r], …] for r = 0..<sw (zero-padded to ⌈W / sw⌉), so that a
    /// stride-sw gather becomes a contiguous copy.
    static func deinterleave(_ x: UnsafePointer<Float>, rows: Int, _ g: Conv3dGeometry, into out: UnsafeMutablePointer<Float>) {
        let W = g.inSize.w, sw = g.stride.w, Wq = (W + sw - 1) / sw
        for row in 0..<rows {
            let src = x + row * W, dst = out + row * sw * Wq
            for r in 0..<sw {
                let d = dst + r * Wq
                for j in 0..<Wq { let i = j * sw + r; d[j] = i < W ? src[i] : 0 }
            }
        }
    }

    /// `fill` for stride-W > 1 reading a deinterleaved sample (see `deinterleave`).
    static func fillDeinterleaved(_ xd: UnsafePointer<Float>, _ g: Conv3dGeometry, rowStart: Int, rowCount: Int,
                                  col: UnsafeMutablePointer<Float>) {
        if AVX512Loops.enabled {
            let Wq = (g.inSize.w + g.stride.w - 1) / g.stride.w
            var c = cGeometry(g, rowLen: g.stride.w * Wq, phaseLength: Wq)
            ck_vol2col_fill(xd, &c, rowStart, rowCount, col)
            return
        }
        let (D, H, W) = (g.inSize.d, g.inSize.h, g.inSize.w)
        let (Ho, Wo) = (g.outSize.h, g.outSize.w)
        let (kd, kh, kw) = (g.kernel.d, g.kernel.h, g.kernel.w)
        let (sd, sh, sw) = (g.stride.d, g.stride.h, g.stride.w)
        let (pd, ph, pw) = (g.padding.d, g.padding.h, g.padding.w)
        let Wq = (W + sw - 1) / sw, rowLen = sw * Wq
        let T = rowCount * Wo
        var r = 0
        for c in 0..<g.inChannels {
            for i in 0..<kd {
                for j in 0..<kh {
                    for l in 0..<kw {
                        let dst = col + r * T
                        r += 1
                        let valid = validRange(l, sw, pw, inW: W, outW: Wo)
                        // iw = ow·sw + shift = (ow + q)·sw + phase
                        let shift = l - pw
                        let phase = ((shift % sw) + sw) % sw
                        let q = (shift - phase) / sw
                        for rr in 0..<rowCount {
                            let qq = rowStart + rr
                            let od = qq / Ho, oh = qq - (qq / Ho) * Ho
                            let id = od * sd - pd + i, ih = oh * sh - ph + j
                            let out = dst + rr * Wo
                            if id < 0 || id >= D || ih < 0 || ih >= H || valid.isEmpty {
                                for ow in 0..<Wo { out[ow] = 0 }
                                continue
                            }
                            for ow in 0..<valid.lowerBound { out[ow] = 0 }
                            for ow in valid.upperBound..<Wo { out[ow] = 0 }
                            let src = xd + ((c * D + id) * H + ih) * rowLen + phase * Wq + q
                            for ow in valid { out[ow] = src[ow] }
                        }
                    }
                }
            }
        }
    }
}
