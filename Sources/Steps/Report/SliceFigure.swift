import Foundation

/// Central slices of one run as heat maps: per phantom, μa and μs′ each as truth, reconstruction
/// and error. Truth and reconstruction of a channel share one colour scale (over that channel's
/// truth and reconstruction in all shown phantoms); errors use a symmetric diverging scale.
/// Each map is a palette PNG inlined as a data URI inside an SVG `<image>`.
enum SliceFigure {
    static let channels = ["μa", "μs′"]
    /// Displayed size of one map in CSS pixels (the image is scaled up without smoothing).
    static let pixels = 120

    static func html(_ slices: SliceSet, caption: String, idPrefix: String) -> String {
        let n = slices.ids.count
        guard n > 0 else { return "" }
        var ranges: [(lo: Double, hi: Double, err: Double)] = []
        for c in 0..<2 {
            var lo = Double.infinity, hi = -Double.infinity, err = 0.0
            for p in 0..<n {
                let t = slices.plane(slices.truth, phantom: p, channel: c), r = slices.plane(slices.prediction, phantom: p, channel: c)
                for (a, b) in zip(t, r) {
                    let x = Double(a), y = Double(b)
                    if x.isFinite { lo = min(lo, x); hi = max(hi, x) }
                    if y.isFinite { lo = min(lo, y); hi = max(hi, y) }
                    if (y - x).isFinite { err = max(err, abs(y - x)) }
                }
            }
            if !(hi > lo) { hi = lo.isFinite ? lo + 1e-6 : 1; lo = lo.isFinite ? lo : 0 }
            ranges.append((lo, hi, err > 0 ? err : 1e-6))
        }
        var s = "<figure class=\"slices\"><figcaption>\(HTML.escape(caption))</figcaption><table class=\"slice-grid\"><thead><tr><th></th>"
        for name in channels { s += "<th>\(name) truth</th><th>\(name) reconstruction</th><th>\(name) error</th>" }
        s += "</tr></thead><tbody>"
        for p in 0..<n {
            s += "<tr><th>phantom \(slices.ids[p])</th>"
            for c in 0..<2 {
                let truth = slices.plane(slices.truth, phantom: p, channel: c), recon = slices.plane(slices.prediction, phantom: p, channel: c)
                let r = ranges[c]
                s += "<td>" + image(truth.map { (Double($0) - r.lo) / (r.hi - r.lo) }, size: slices.size, map: .viridis) + "</td>"
                s += "<td>" + image(recon.map { (Double($0) - r.lo) / (r.hi - r.lo) }, size: slices.size, map: .viridis) + "</td>"
                s += "<td>" + image(zip(recon, truth).map { (Double($0) - Double($1)) / (2 * r.err) + 0.5 }, size: slices.size, map: .diverging) + "</td>"
            }
            s += "</tr>"
        }
        s += "</tbody><tfoot><tr><td></td>"
        for c in 0..<2 {
            let r = ranges[c]
            s += "<td colspan=\"2\">" + SVGChart.colourBar(.viridis, lo: r.lo, hi: r.hi, label: "\(channels[c]) (mm⁻¹)", width: 2 * pixels, id: "\(idPrefix)-v\(c)") + "</td>"
            s += "<td>" + SVGChart.colourBar(.diverging, lo: -r.err, hi: r.err, label: "error", width: pixels, id: "\(idPrefix)-d\(c)") + "</td>"
        }
        return s + "</tr></tfoot></table></figure>"
    }

    /// One heat map: values in [0, 1] (clamped) → palette indices → PNG → `<svg><image>`.
    static func image(_ unit: [Double], size: Int, map: Colormap) -> String {
        let indices = unit.map { v -> UInt8 in UInt8(min(255, max(0, (v.isFinite ? v : 0) * 255)).rounded()) }
        let png = PNGEncoder.palette(width: size, height: size, indices: indices, palette: map.palette)
        let uri = "data:image/png;base64," + Data(png).base64EncodedString()
        return "<svg class=\"heatmap\" viewBox=\"0 0 \(size) \(size)\" width=\"\(pixels)\" height=\"\(pixels)\" role=\"img\">"
            + "<image width=\"\(size)\" height=\"\(size)\" preserveAspectRatio=\"none\" href=\"\(uri)\"/></svg>"
    }
}
