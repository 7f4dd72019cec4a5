import Foundation

/// What the page says about where it comes from (not part of any content key). The report step
/// leaves date and host out, so its stored output depends on its inputs only (the same bytes
/// locally and under Slurm); `runner report` fills them in.
public struct ReportHeader: Sendable {
    public var title: String?
    public var experiment: String?
    public var description: String?
    public var date: Date?
    public var host: String?

    public init(title: String? = nil, experiment: String? = nil, description: String? = nil, date: Date? = nil, host: String? = nil) {
        self.title = title; self.experiment = experiment; self.description = description; self.date = date; self.host = host
    }
}

/// report.html: one self-contained page (inline CSS and SVG, images as data URIs, no scripts,
/// nothing fetched) — ranking with 95% CIs, paired comparisons with the baseline, learning
/// curves and central slices.
public enum HTMLReport {
    /// Variants shown with slices: all of them up to this many, else the baseline and the best ones.
    static let sliceVariants = 4
    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]

    public static func render(_ analysis: ReportAnalysis, runs: [ReportRun], header: ReportHeader) -> String {
        var body = ""
        body += headerSection(analysis, runs: runs, header: header)
        body += rankingSection(analysis)
        body += comparisonSection(analysis)
        body += curvesSection(analysis, runs: runs)
        body += slicesSection(analysis, runs: runs)
        body += methodsSection(analysis)
        let title = HTML.escape(pageTitle(header))
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title)</title><style>\(css)</style></head>
        <body><main>
        \(body)
        </main></body></html>

        """
    }

    static func pageTitle(_ header: ReportHeader) -> String {
        header.title ?? header.experiment.map { "\($0) — Stage 1 report" } ?? "Stage 1 report"
    }

    static func headerSection(_ a: ReportAnalysis, runs: [ReportRun], header: ReportHeader) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withFullDate, .withTime, .withColonSeparatorInTime, .withSpaceBetweenDateAndTime]
        let phantoms = Set(runs.map(\.phantoms)).sorted().map(String.init).joined(separator: "/")
        let seeds = Set(runs.map(\.seed)).sorted().map(String.init).joined(separator: ", ")
        var s = "<header><h1>\(HTML.escape(pageTitle(header)))</h1>"
        if let d = header.description { s += "<p class=\"description\">\(HTML.escape(d))</p>" }
        s += "<dl class=\"meta\">"
        if let e = header.experiment { s += "<dt>experiment</dt><dd>\(HTML.escape(e))</dd>" }
        if let date = header.date { s += "<dt>date</dt><dd>\(formatter.string(from: date)) UTC</dd>" }
        if let host = header.host { s += "<dt>host</dt><dd>\(HTML.escape(host))</dd>" }
        s += "<dt>variants</dt><dd>\(a.ranked.count)</dd><dt>seeds</dt><dd>\(seeds)</dd><dt>test phantoms</dt><dd>\(phantoms)</dd>"
        s += "<dt>primary metric</dt><dd>\(HTML.escape(a.primary)) (\(direction(a.primary)))</dd></dl>"
        if let best = a.ranked.first, let e = best.estimates[a.primary], e.mean.isFinite {
            s += "<p class=\"headline\">Best by \(HTML.escape(a.primary)): <strong>\(HTML.escape(best.name))</strong> \(estimateText(e))"
            if best.name != a.baseline, let c = a.comparison(best.name, a.primary), let i = c.interval {
                s += " — \(diffText(i.mean)) vs \(HTML.escape(a.baseline)) (95% CI \(diffText(i.lower)) to \(diffText(i.upper))): \(verdictBadge(c.verdict))"
            }
            s += "</p>"
        }
        return s + "</header>"
    }

    static func rankingSection(_ a: ReportAnalysis) -> String {
        var s = "<section id=\"ranking\"><h2>Variants by \(HTML.escape(a.primary))</h2>"
        s += "<p class=\"note\">Mean ± half-width of the 95% confidence interval over seeds (Student t); best value per column in bold.</p>"
        s += "<table class=\"ranking\"><thead><tr><th>#</th><th>variant</th><th>seeds</th>"
        for m in a.metrics { s += "<th>\(HTML.escape(m)) <span class=\"dir\">\(arrow(m))</span></th>" }
        s += "</tr></thead><tbody>"
        var best: [String: Double] = [:]
        for m in a.metrics {
            let means = a.ranked.compactMap { $0.estimates[m]?.mean }.filter(\.isFinite)
            best[m] = ReportAnalysis.higherIsBetter(m) ? means.max() : means.min()
        }
        for (i, v) in a.ranked.enumerated() {
            s += "<tr class=\"variant-row\"><td>\(i + 1)</td><td>\(HTML.escape(v.name))\(v.name == a.baseline ? " <span class=\"tag\">baseline</span>" : "")</td><td>\(v.seeds.count)</td>"
            for m in a.metrics {
                let e = v.estimates[m] ?? Gates.estimate([])
                let isBest = e.mean.isFinite && e.mean == best[m] && a.ranked.count > 1
                s += "<td class=\"num\">\(isBest ? "<strong>" : "")\(estimateText(e))\(isBest ? "</strong>" : "")</td>"
            }
            s += "</tr>"
        }
        s += "</tbody></table>"
        let rows = a.ranked.enumerated().map { i, v -> SVGChart.IntervalRow in
            let e = v.estimates[a.primary] ?? Gates.estimate([])
            return SVGChart.IntervalRow(label: v.name, mean: e.mean, lower: e.mean - e.halfWidth, upper: e.mean + e.halfWidth,
                                        points: v.values[a.primary] ?? [], colour: v.name == a.baseline ? "#333333" : palette[i % palette.count],
                                        bold: v.name == a.baseline)
        }
        s += "<figure>" + SVGChart.intervals(rows, axisLabel: "\(a.primary) (\(direction(a.primary))) — mean, 95% CI over seeds, grey dots: seeds")
        return s + "</figure></section>"
    }

    static func comparisonSection(_ a: ReportAnalysis) -> String {
        var s = "<section id=\"comparison\"><h2>Paired comparison with \(HTML.escape(a.baseline))</h2>"
        guard !a.comparisons.isEmpty else {
            return s + "<p class=\"note\">Only one variant: nothing to compare with.</p></section>"
        }
        s += "<p class=\"note\">Difference variant − \(HTML.escape(a.baseline)) over the same test phantoms (each phantom's value averaged over seeds); "
            + "95% CI from a paired bootstrap over phantoms (\(a.resamples) resamples, fixed seed). A CI that excludes zero is a clear difference.</p>"
        let rows = a.ranked.filter { $0.name != a.baseline }.map { v -> SVGChart.IntervalRow in
            let c = a.comparison(v.name, a.primary)
            let i = c?.interval
            return SVGChart.IntervalRow(label: v.name, mean: i?.mean ?? .nan, lower: i?.lower ?? .nan, upper: i?.upper ?? .nan,
                                        colour: verdictColour(c?.verdict ?? .notComparable))
        }
        s += "<figure>" + SVGChart.intervals(rows, axisLabel: "Δ \(a.primary) vs \(a.baseline) (\(direction(a.primary)))", reference: 0) + "</figure>"
        s += "<table class=\"comparison\"><thead><tr><th>variant</th><th>metric</th><th>Δ mean</th><th>95% CI</th><th>phantoms</th><th>verdict</th></tr></thead><tbody>"
        for c in a.comparisons {
            s += "<tr class=\"comparison-row\"><td>\(HTML.escape(c.variant))</td><td>\(HTML.escape(c.metric)) <span class=\"dir\">\(arrow(c.metric))</span></td>"
            if let i = c.interval {
                s += "<td class=\"num\">\(diffText(i.mean))</td><td class=\"num\">[\(diffText(i.lower)), \(diffText(i.upper))]</td><td class=\"num\">\(i.count)</td>"
            } else {
                s += "<td>–</td><td>–</td><td>0</td>"
            }
            s += "<td>\(verdictBadge(c.verdict))</td></tr>"
        }
        return s + "</tbody></table></section>"
    }

    static func curvesSection(_ a: ReportAnalysis, runs: [ReportRun]) -> String {
        let withCurves = runs.filter { !$0.curve.isEmpty }
        var s = "<section id=\"curves\"><h2>Learning curves</h2>"
        guard !withCurves.isEmpty else { return s + "<p class=\"note\">No training histories among the inputs.</p></section>" }
        let seeds = Array(Set(runs.map(\.seed))).sorted()
        let seedColour = Dictionary(uniqueKeysWithValues: seeds.enumerated().map { ($1, palette[$0 % palette.count]) })
        s += "<p class=\"note\">RMSE per epoch (solid: validation, dashed: training batches) and learning rate (log scale); one colour per seed: "
        s += seeds.map { "<span class=\"swatch\" style=\"background:\(seedColour[$0]!)\"></span>seed \($0)" }.joined(separator: " ") + ". RMSE axes are shared; values far above the rest are drawn at the top edge.</p>"
        let rmse = withCurves.flatMap { $0.curve.flatMap { [$0.valRMSE] + ($0.trainRMSE.map { [$0] } ?? []) } }.filter(\.isFinite)
        let shared = robustRange(rmse)
        s += "<div class=\"curves\">"
        for v in a.ranked {
            let own = withCurves.filter { $0.variant == v.name }
            guard !own.isEmpty else { continue }
            var rmseSeries: [SVGChart.Series] = [], lrSeries: [SVGChart.Series] = []
            for run in own {
                let colour = seedColour[run.seed]!
                rmseSeries.append(SVGChart.Series(points: run.curve.map { (Double($0.epoch), $0.valRMSE) }, colour: colour))
                let train = run.curve.compactMap { p in p.trainRMSE.map { (Double(p.epoch), $0) } }
                if !train.isEmpty { rmseSeries.append(SVGChart.Series(points: train, colour: colour, dashed: true)) }
                lrSeries.append(SVGChart.Series(points: run.curve.map { (Double($0.epoch), $0.lr) }, colour: colour))
            }
            s += "<div class=\"curve-card\"><h3>\(HTML.escape(v.name))</h3>"
            s += SVGChart.lines(rmseSeries, title: "RMSE", yRange: shared)
            s += SVGChart.lines(lrSeries, title: "learning rate", logY: true, height: 120)
            s += "</div>"
        }
        return s + "</div></section>"
    }

    /// The padded range of `values`, its top cut at 5× the median so one diverging run does not
    /// flatten every other curve.
    static func robustRange(_ values: [Double]) -> (Double, Double) {
        guard !values.isEmpty else { return (0, 1) }
        let sorted = values.sorted(), median = sorted[sorted.count / 2]
        let capped = median > 0 ? sorted.filter { $0 <= 5 * median } : sorted
        return SVGChart.paddedRange(capped.isEmpty ? sorted : capped)
    }

    static func slicesSection(_ a: ReportAnalysis, runs: [ReportRun]) -> String {
        var s = "<section id=\"slices\"><h2>Central slices</h2>"
        var shown = a.ranked.map(\.name)
        if shown.count > sliceVariants {
            shown = [a.baseline] + shown.filter { $0 != a.baseline }.prefix(sliceVariants - 1)
        }
        var figures = ""
        for (k, name) in shown.enumerated() {
            guard let run = runs.filter({ $0.variant == name && $0.slices != nil }).min(by: { $0.seed < $1.seed }), let slices = run.slices else { continue }
            figures += SliceFigure.html(slices, caption: "\(name), seed \(run.seed) — slice \(slices.index) of \(slices.size) along the first axis",
                                        idPrefix: "s\(k)")
        }
        guard !figures.isEmpty else {
            return s + "<p class=\"note\">No slices among the inputs (evaluate results from before slices were saved).</p></section>"
        }
        s += "<p class=\"note\">Truth, reconstruction and error (reconstruction − truth) of the first test phantoms"
        s += shown.count < a.ranked.count ? "; the baseline and the best variants are shown." : "."
        return s + "</p>" + figures + "</section>"
    }

    static func methodsSection(_ a: ReportAnalysis) -> String {
        """
        <footer><h2>How these numbers are made</h2><ul>
        <li>Metrics are those of the evaluate step on the test part, in raw units (mm⁻¹); PSNR uses the configured data range.</li>
        <li>Per-variant intervals: mean over seeds ± t<sub>0.975, n−1</sub>·s/√n; with one seed there is no interval.</li>
        <li>Comparisons: per-phantom differences with \(HTML.escape(a.baseline)), resampled with replacement \(a.resamples) times (SplitMix64, seed \(PairedBootstrap.defaultSeed)); percentile interval. Verdicts: “better”/“worse” when the 95% CI excludes zero, else “no clear difference”.</li>
        <li>Every number on this page is in report.json beside it.</li>
        </ul></footer>
        """
    }

    // MARK: text helpers

    static func direction(_ metric: String) -> String { ReportAnalysis.higherIsBetter(metric) ? "higher is better" : "lower is better" }
    static func arrow(_ metric: String) -> String { ReportAnalysis.higherIsBetter(metric) ? "↑" : "↓" }

    static func estimateText(_ e: Gates.Estimate) -> String {
        guard e.count > 0, e.mean.isFinite else { return "–" }
        return e.count > 1 ? "\(number(e.mean)) ± \(String(format: "%.2g", e.halfWidth))" : number(e.mean)
    }

    static func number(_ v: Double) -> String { String(format: "%.4g", v) }
    static func diffText(_ v: Double) -> String { v.isFinite ? (v > 0 ? "+" : "") + String(format: "%.3g", v) : "–" }

    static func verdictColour(_ v: ReportAnalysis.Verdict) -> String {
        switch v {
        case .better: return "#2e7d32"
        case .worse: return "#c62828"
        case .noClearDifference, .notComparable: return "#757575"
        }
    }

    static func verdictBadge(_ v: ReportAnalysis.Verdict) -> String {
        "<span class=\"verdict\" style=\"background:\(verdictColour(v))\">\(v.rawValue)</span>"
    }

    static let css = """
    body{margin:0;background:#f6f7f9;color:#1d1d1f;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
    main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
    header h1{margin:0 0 6px;font-size:26px}
    h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
    h3{font-size:14px;margin:0 0 4px}
    .meta{display:flex;flex-wrap:wrap;gap:4px 18px;margin:8px 0;color:#444}
    .meta dt{font-weight:600}.meta dt::after{content:":"}.meta dd{margin:0 0 0 -14px}
    .headline{font-size:16px;background:#fff;border-left:4px solid #4e79a7;padding:8px 12px}
    .note,.description{color:#555;max-width:900px}
    table{border-collapse:collapse;background:#fff;margin:8px 0}
    th,td{padding:5px 10px;border-bottom:1px solid #e6e6e6;text-align:left}
    td.num{text-align:right;font-variant-numeric:tabular-nums}
    .tag{font-size:11px;background:#333;color:#fff;border-radius:3px;padding:1px 5px}
    .verdict{color:#fff;border-radius:3px;padding:1px 7px;font-size:12px;white-space:nowrap}
    .dir{color:#888;font-weight:normal}
    figure{margin:10px 0;background:#fff;padding:8px;display:inline-block}
    .curves{display:flex;flex-wrap:wrap;gap:12px}
    .curve-card{background:#fff;padding:8px;border:1px solid #e6e6e6}
    .swatch{display:inline-block;width:10px;height:10px;margin:0 4px 0 8px;border-radius:2px}
    .slice-grid th{font-size:12px;font-weight:600;text-align:center}
    .slice-grid td{padding:2px;border:none;text-align:center}
    .heatmap{image-rendering:pixelated;display:block}
    .heatmap image{image-rendering:pixelated}
    figcaption{font-weight:600;margin-bottom:4px}
    footer{margin-top:32px;color:#555;font-size:13px}
    """
}

/// HTML text escaping.
enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
