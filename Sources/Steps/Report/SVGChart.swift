import Foundation

/// Inline SVG charts of the report (no scripts, no external references): confidence-interval
/// rows, a forest plot of paired differences, learning curves and colour bars.
enum SVGChart {
    static let font = "font-family=\"system-ui, sans-serif\" font-size=\"12\""

    struct IntervalRow {
        var label: String
        var mean: Double
        var lower: Double
        var upper: Double
        /// Individual values shown as small dots (seeds).
        var points: [Double] = []
        var colour: String
        var bold = false
    }

    /// Horizontal rows: a dot at the mean, a bar over the interval, small dots for the points;
    /// an optional reference line (zero for differences).
    static func intervals(_ rows: [IntervalRow], axisLabel: String, reference: Double? = nil, width: Int = 720) -> String {
        let labelWidth = 190.0, right = 30.0, top = 10.0, rowHeight = 26.0
        let height = top + rowHeight * Double(rows.count) + 40
        var values = rows.flatMap { [$0.lower, $0.upper, $0.mean] + $0.points }.filter(\.isFinite)
        if let reference { values.append(reference) }
        let (lo, hi) = paddedRange(values)
        let plotWidth = Double(width) - labelWidth - right
        let x = { (v: Double) in labelWidth + (v - lo) / (hi - lo) * plotWidth }
        var s = "<svg class=\"chart\" viewBox=\"0 0 \(width) \(fmt(height))\" width=\"\(width)\" height=\"\(fmt(height))\" \(font) role=\"img\">"
        let bottom = top + rowHeight * Double(rows.count)
        for tick in niceTicks(lo, hi) {
            s += "<line x1=\"\(fmt(x(tick)))\" x2=\"\(fmt(x(tick)))\" y1=\"\(fmt(top))\" y2=\"\(fmt(bottom))\" stroke=\"#e4e4e4\"/>"
            s += "<text x=\"\(fmt(x(tick)))\" y=\"\(fmt(bottom + 15))\" text-anchor=\"middle\" fill=\"#555\">\(tickLabel(tick))</text>"
        }
        if let reference {
            s += "<line x1=\"\(fmt(x(reference)))\" x2=\"\(fmt(x(reference)))\" y1=\"\(fmt(top - 4))\" y2=\"\(fmt(bottom))\" stroke=\"#333\" stroke-dasharray=\"4 3\"/>"
        }
        for (i, row) in rows.enumerated() {
            let y = top + rowHeight * (Double(i) + 0.5)
            s += "<text x=\"\(fmt(labelWidth - 10))\" y=\"\(fmt(y + 4))\" text-anchor=\"end\"\(row.bold ? " font-weight=\"bold\"" : "")>\(HTML.escape(row.label))</text>"
            guard row.mean.isFinite else {
                s += "<text x=\"\(fmt(labelWidth + 4))\" y=\"\(fmt(y + 4))\" fill=\"#999\">no value</text>"
                continue
            }
            if row.lower.isFinite, row.upper.isFinite, row.upper > row.lower {
                s += "<line x1=\"\(fmt(x(row.lower)))\" x2=\"\(fmt(x(row.upper)))\" y1=\"\(fmt(y))\" y2=\"\(fmt(y))\" stroke=\"\(row.colour)\" stroke-width=\"5\" stroke-linecap=\"round\" opacity=\"0.45\"/>"
            }
            for p in row.points where p.isFinite {
                s += "<circle cx=\"\(fmt(x(p)))\" cy=\"\(fmt(y - 8))\" r=\"2.5\" fill=\"#777\"/>"
            }
            s += "<circle cx=\"\(fmt(x(row.mean)))\" cy=\"\(fmt(y))\" r=\"5\" fill=\"\(row.colour)\"><title>\(HTML.escape(row.label)): \(tickLabel(row.mean)) [\(tickLabel(row.lower)), \(tickLabel(row.upper))]</title></circle>"
        }
        s += "<text x=\"\(fmt(labelWidth + plotWidth / 2))\" y=\"\(fmt(bottom + 32))\" text-anchor=\"middle\" fill=\"#333\">\(HTML.escape(axisLabel))</text>"
        return s + "</svg>"
    }

    struct Series {
        var points: [(Double, Double)]
        var colour: String
        var dashed = false
    }

    /// One panel of lines over x; `logY` plots log10 of positive values (learning rates).
    static func lines(_ series: [Series], title: String, yRange: (Double, Double)? = nil, logY: Bool = false,
                      width: Int = 300, height: Int = 170) -> String {
        let left = 52.0, right = 10.0, top = 22.0, bottom = 26.0
        let transform = { (v: Double) -> Double in logY ? (v > 0 ? log10(v) : .nan) : v }
        let xs = series.flatMap { $0.points.map(\.0) }.filter(\.isFinite)
        let ys = series.flatMap { $0.points.map { transform($0.1) } }.filter(\.isFinite)
        let (x0, x1) = xs.isEmpty ? (0.0, 1.0) : (xs.min()!, max(xs.max()!, xs.min()! + 1))
        let (y0, y1) = yRange.map { (transform($0.0), transform($0.1)) }.flatMap { $0.0.isFinite && $0.1.isFinite && $0.1 > $0.0 ? $0 : nil }
            ?? paddedRange(ys)
        let w = Double(width) - left - right, h = Double(height) - top - bottom
        let px = { (v: Double) in left + (v - x0) / (x1 - x0) * w }
        let py = { (v: Double) in top + h - (min(max(v, y0), y1) - y0) / (y1 - y0) * h }
        var s = "<svg class=\"chart\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" \(font) role=\"img\">"
        s += "<text x=\"\(fmt(left))\" y=\"14\" font-weight=\"bold\">\(HTML.escape(title))</text>"
        s += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(w))\" height=\"\(fmt(h))\" fill=\"none\" stroke=\"#ccc\"/>"
        let yTicks = logY ? Array(Int(y0.rounded(.up))...max(Int(y0.rounded(.up)), Int(y1.rounded(.down)))).map(Double.init).filter { $0 >= y0 && $0 <= y1 }
                          : niceTicks(y0, y1, count: 4)
        // A log axis spanning less than a decade has no decade ticks: label its ends instead.
        let labelled = logY && yTicks.isEmpty ? [y0, y1] : yTicks
        for t in labelled {
            s += "<line x1=\"\(fmt(left))\" x2=\"\(fmt(left + w))\" y1=\"\(fmt(py(t)))\" y2=\"\(fmt(py(t)))\" stroke=\"#eee\"/>"
            s += "<text x=\"\(fmt(left - 4))\" y=\"\(fmt(py(t) + 4))\" text-anchor=\"end\" fill=\"#555\" font-size=\"10\">\(logY ? (t == t.rounded() ? "1e\(Int(t))" : String(format: "%.2g", pow(10, t))) : tickLabel(t))</text>"
        }
        for t in niceTicks(x0, x1, count: 5) where t == t.rounded() {
            s += "<text x=\"\(fmt(px(t)))\" y=\"\(fmt(top + h + 14))\" text-anchor=\"middle\" fill=\"#555\" font-size=\"10\">\(Int(t))</text>"
        }
        for line in series {
            let points = line.points.map { ($0.0, transform($0.1)) }.filter { $0.0.isFinite && $0.1.isFinite }
            guard !points.isEmpty else { continue }
            let path = points.map { "\(fmt(px($0.0))),\(fmt(py($0.1)))" }.joined(separator: " ")
            if points.count == 1 {
                s += "<circle cx=\"\(fmt(px(points[0].0)))\" cy=\"\(fmt(py(points[0].1)))\" r=\"3\" fill=\"\(line.colour)\"/>"
            } else {
                s += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(line.colour)\" stroke-width=\"1.6\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "")/>"
            }
        }
        return s + "</svg>"
    }

    /// A horizontal colour bar with its end labels (and the middle one for diverging maps).
    static func colourBar(_ map: Colormap, lo: Double, hi: Double, label: String, width: Int = 180, id: String) -> String {
        var s = "<svg class=\"colourbar\" viewBox=\"0 0 \(width) 34\" width=\"\(width)\" height=\"34\" \(font) role=\"img\">"
        s += "<defs><linearGradient id=\"\(id)\">"
        for i in 0...8 { s += "<stop offset=\"\(fmt(Double(i) / 8))\" stop-color=\"\(map.hex(Double(i) / 8))\"/>" }
        s += "</linearGradient></defs>"
        s += "<rect x=\"0\" y=\"2\" width=\"\(width)\" height=\"10\" fill=\"url(#\(id))\" stroke=\"#999\" stroke-width=\"0.5\"/>"
        s += "<text x=\"0\" y=\"26\" font-size=\"10\">\(tickLabel(lo))</text>"
        s += "<text x=\"\(width / 2)\" y=\"26\" font-size=\"10\" text-anchor=\"middle\">\(HTML.escape(label))</text>"
        s += "<text x=\"\(width)\" y=\"26\" font-size=\"10\" text-anchor=\"end\">\(tickLabel(hi))</text>"
        return s + "</svg>"
    }

    // MARK: scales

    static func paddedRange(_ values: [Double]) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, 1) }
        if hi == lo { let pad = lo == 0 ? 1 : abs(lo) * 0.05; return (lo - pad, hi + pad) }
        let pad = (hi - lo) * 0.06
        return (lo - pad, hi + pad)
    }

    /// Round tick positions (1, 2, 5 × 10ᵏ steps) inside [lo, hi].
    static func niceTicks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
        guard lo.isFinite, hi.isFinite, hi > lo else { return [] }
        let raw = (hi - lo) / Double(max(1, count)), magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        var ticks: [Double] = []
        var t = (lo / step).rounded(.up) * step
        while t <= hi + step * 1e-9, ticks.count < 50 { ticks.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
        return ticks
    }

    static func tickLabel(_ v: Double) -> String {
        guard v.isFinite else { return "–" }
        if v == 0 { return "0" }
        let a = abs(v)
        return a >= 1e-3 && a < 1e5 ? String(format: "%.4g", v) : String(format: "%.2e", v)
    }

    static func fmt(_ v: Double) -> String {
        v.isFinite ? String(format: "%.1f", v) : "0"
    }
}
