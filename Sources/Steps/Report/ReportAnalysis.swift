import Foundation
import Spec
import Store

/// The numbers of the report: per variant mean ± 95% CI over seeds (Student t, `Gates.estimate`),
/// the ranking by the primary metric, and paired comparisons with the baseline over the same test
/// phantoms (paired bootstrap of the per-phantom differences, each phantom's value averaged over seeds).
public struct ReportAnalysis: Sendable {
    public struct VariantResult: Sendable {
        public var name: String
        public var seeds: [Int]
        /// Metric → mean ± half-width over seeds.
        public var estimates: [String: Gates.Estimate]
        /// Metric → one value per seed (in `seeds` order).
        public var values: [String: [Double]]
    }

    public enum Verdict: String, Sendable {
        case better, worse
        case noClearDifference = "no clear difference"
        case notComparable = "not comparable"
    }

    public struct Comparison: Sendable {
        public var variant: String
        public var metric: String
        /// Nil when the two variants share no scored phantoms.
        public var interval: PairedBootstrap.Interval?
        public var verdict: Verdict
    }

    public var metrics: [String]
    public var primary: String
    public var baseline: String
    /// Best first by the primary metric; variants without it last, in experiment order.
    public var ranked: [VariantResult]
    /// Every non-baseline variant × every metric, in ranked order.
    public var comparisons: [Comparison]
    public var resamples: Int

    /// The variant called `baseline` when there is one (the name `ablate` gives it and gates
    /// default to), otherwise the experiment's first variant.
    public static func baselineName(_ variants: [String]) -> String {
        variants.contains("baseline") ? "baseline" : variants.first ?? "baseline"
    }

    public static func higherIsBetter(_ metric: String) -> Bool { Metrics.higherIsBetter(metric) }

    public init(params: ReportParams, runs: [ReportRun], resamples: Int = PairedBootstrap.defaultResamples) {
        let metrics = params.metrics.isEmpty ? ["rmse"] : params.metrics
        let primary = metrics[0]
        self.metrics = metrics
        self.primary = primary
        let baseline = Self.baselineName(params.variants)
        self.baseline = baseline
        self.resamples = resamples
        let byVariant = Dictionary(grouping: runs, by: \.variant)
        let results = params.variants.map { name -> VariantResult in
            let own = byVariant[name] ?? []
            var values: [String: [Double]] = [:]
            for metric in metrics { values[metric] = own.compactMap { $0.metrics[metric] } }
            return VariantResult(name: name, seeds: own.map(\.seed), estimates: values.mapValues(Gates.estimate), values: values)
        }
        let higher = Self.higherIsBetter(primary)
        let order = Dictionary(uniqueKeysWithValues: params.variants.enumerated().map { ($1, $0) })
        ranked = results.sorted { a, b in
            let x = a.estimates[primary]?.mean ?? .nan, y = b.estimates[primary]?.mean ?? .nan
            if x.isFinite != y.isFinite { return x.isFinite }
            if x.isFinite && x != y { return higher ? x > y : x < y }
            return order[a.name]! < order[b.name]!
        }
        var comparisons: [Comparison] = []
        let base = byVariant[baseline] ?? []
        for variant in ranked where variant.name != baseline {
            for metric in metrics {
                let differences = Self.pairedDifferences(byVariant[variant.name] ?? [], base, metric: metric)
                let interval = PairedBootstrap.interval(differences, resamples: resamples)
                comparisons.append(Comparison(variant: variant.name, metric: metric, interval: interval,
                                              verdict: Self.verdict(interval, higherIsBetter: Self.higherIsBetter(metric))))
            }
        }
        self.comparisons = comparisons
    }

    /// variant − baseline per phantom both scored, each side averaged over its seeds; ascending ids.
    static func pairedDifferences(_ variant: [ReportRun], _ baseline: [ReportRun], metric: String) -> [Double] {
        let a = perPhantomMeans(variant, metric: metric), b = perPhantomMeans(baseline, metric: metric)
        return a.keys.filter { b[$0] != nil }.sorted().map { a[$0]! - b[$0]! }
    }

    static func perPhantomMeans(_ runs: [ReportRun], metric: String) -> [Int: Double] {
        var sums: [Int: (Double, Int)] = [:]
        for run in runs {
            for (id, table) in run.perPhantom {
                guard let value = table[metric], value.isFinite else { continue }
                let s = sums[id] ?? (0, 0)
                sums[id] = (s.0 + value, s.1 + 1)
            }
        }
        return sums.mapValues { $0.0 / Double($0.1) }
    }

    static func verdict(_ interval: PairedBootstrap.Interval?, higherIsBetter: Bool) -> Verdict {
        guard let interval else { return .notComparable }
        guard interval.excludesZero else { return .noClearDifference }
        return (interval.mean > 0) == higherIsBetter ? .better : .worse
    }

    public func comparison(_ variant: String, _ metric: String) -> Comparison? {
        comparisons.first { $0.variant == variant && $0.metric == metric }
    }

    /// report.json: every number the page shows.
    public var json: JSONValue {
        func number(_ x: Double) -> JSONValue { x.isFinite ? .number(x) : .null }
        return .object([
            "primary_metric": .string(primary),
            "primary_higher_is_better": .bool(Self.higherIsBetter(primary)),
            "baseline": .string(baseline),
            "metrics": .array(metrics.map(JSONValue.string)),
            "bootstrap": .object(["resamples": .number(Double(resamples)), "seed": .number(Double(PairedBootstrap.defaultSeed)), "level": .number(0.95)]),
            "ranking": .array(ranked.map { v in
                .object([
                    "variant": .string(v.name),
                    "seeds": .array(v.seeds.map { .number(Double($0)) }),
                    "metrics": .object(Dictionary(uniqueKeysWithValues: metrics.map { m in
                        let e = v.estimates[m] ?? Gates.estimate([])
                        return (m, JSONValue.object(["mean": number(e.mean), "ci95_half_width": number(e.halfWidth), "seeds": .number(Double(e.count)),
                                                     "values": .array((v.values[m] ?? []).map(number))]))
                    })),
                ])
            }),
            "comparisons": .array(comparisons.map { c in
                var fields: [String: JSONValue] = ["variant": .string(c.variant), "metric": .string(c.metric), "verdict": .string(c.verdict.rawValue)]
                if let i = c.interval {
                    fields["mean_difference"] = number(i.mean)
                    fields["ci95"] = .array([number(i.lower), number(i.upper)])
                    fields["phantoms"] = .number(Double(i.count))
                    fields["excludes_zero"] = .bool(i.excludesZero)
                }
                return .object(fields)
            }),
        ])
    }
}
