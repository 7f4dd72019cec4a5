import Foundation
import Spec
import Store

/// Pure evaluation of an experiment's `gate` section on evaluate results, and the summary table
/// printed after apply. Values per metric are one per seed; gates use their mean.
public enum Gates {
    /// Mean and half-width of the 95% confidence interval (Student t; 0 for one seed).
    public struct Estimate: Equatable, Sendable {
        public var mean: Double
        public var halfWidth: Double
        public var count: Int
    }

    public struct Outcome: Equatable, Sendable {
        public var variant: String
        public var metric: String
        public var value: Estimate
        /// e.g. `max 0.083`, `max_regression 2% of baseline 0.1000 (→ 0.1020)`.
        public var threshold: String
        public var limit: Double
        /// `<=` or `>=`: how the value must compare with `limit` to pass.
        public var comparison: String
        public var passed: Bool

        /// `rmse of baseline = 0.0912 ± 0.0040 (2 seeds) > max 0.083`.
        public var message: String {
            let ci = value.count > 1 ? String(format: " ± %.4g (%d seeds, 95%% CI)", value.halfWidth, value.count) : ""
            return String(format: "gate %@: %@ of %@ = %.6g%@ %@ %@", passed ? "passed" : "FAILED", metric, variant, value.mean, ci,
                          passed ? "within" : "violates", threshold)
        }
    }

    /// The final metrics of a stored run manifest that gates compare against (`against: path.json`),
    /// by the evaluate section's metric names (`rmse`, `ssim.mua`, …).
    public struct StoredBaseline: Equatable, Sendable {
        public var path: String
        public var runID: String
        public var metrics: [String: Double]

        public init(path: String, runID: String, metrics: [String: Double]) {
            self.path = path; self.runID = runID; self.metrics = metrics
        }

        /// Reads the manifest at `path`: a missing or malformed file is a `GateError`.
        public static func load(path: String) throws -> StoredBaseline {
            let url = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: url.path) else { throw GateError("gate baseline \(path): no such file") }
            let manifest: Manifest
            do { manifest = try StoreJSON.decode(Manifest.self, from: Data(contentsOf: url)) } catch {
                throw GateError("gate baseline \(path): not a run manifest (runs/<run-id>/manifest.json): \(error)")
            }
            let prefix = manifest.evaluatedSplit + "."
            var metrics: [String: Double] = [:]
            for (name, value) in manifest.finalMetrics where name.hasPrefix(prefix) { metrics[String(name.dropFirst(prefix.count))] = value }
            return StoredBaseline(path: path, runID: manifest.runID, metrics: metrics)
        }
    }

    /// The stored manifests `rules` compare against, each checked to hold every metric compared with it.
    /// - Throws: `GateError` naming the file and the metric.
    public static func storedBaselines(_ rules: [String: GateRule], loaded: inout [String: StoredBaseline]) throws {
        for metric in rules.keys.sorted() {
            let rule = rules[metric]!
            guard rule.maxRegression != nil || rule.minChange != nil, case .manifest(let path)? = rule.against else { continue }
            let baseline: StoredBaseline
            if let known = loaded[path] { baseline = known } else { baseline = try StoredBaseline.load(path: path); loaded[path] = baseline }
            guard let value = baseline.metrics[metric], value.isFinite else {
                throw GateError("gate baseline \(path): the manifest has no finite \(metric) (it has \(baseline.metrics.keys.sorted().joined(separator: ", ")))")
            }
        }
    }

    public static func estimate(_ values: [Double]) -> Estimate {
        let n = values.count
        guard n > 0 else { return Estimate(mean: .nan, halfWidth: .nan, count: 0) }
        let mean = values.reduce(0, +) / Double(n)
        guard n > 1 else { return Estimate(mean: mean, halfWidth: 0, count: 1) }
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(n - 1)
        return Estimate(mean: mean, halfWidth: tCritical95(df: n - 1) * (variance / Double(n)).squareRoot(), count: n)
    }

    /// Two-sided 95% Student t quantiles (df 1…30, then the normal 1.96).
    static func tCritical95(df: Int) -> Double {
        let table: [Double] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                               2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042]
        return df >= 1 && df <= table.count ? table[df - 1] : 1.960
    }

    /// Every rule of `rules` for `variant`: `results[variant][metric]` are the per-seed values.
    /// Relative rules compare with the mean of the baseline variant named by `against` (default
    /// `baseline`) or with the final metric of a stored manifest (`stored`, by path; see
    /// `storedBaselines`). A metric or baseline without values fails the gate (never a silent pass).
    public static func evaluate(_ rules: [String: GateRule], variant: String, results: [String: [String: [Double]]],
                                stored: [String: StoredBaseline] = [:]) -> [Outcome] {
        var out: [Outcome] = []
        for metric in rules.keys.sorted() {
            let rule = rules[metric]!
            let value = estimate(results[variant]?[metric] ?? [])
            func add(_ threshold: String, _ limit: Double, _ comparison: String, _ ok: Bool) {
                out.append(Outcome(variant: variant, metric: metric, value: value, threshold: threshold, limit: limit,
                                   comparison: comparison, passed: value.mean.isFinite && limit.isFinite && ok))
            }
            if let max = rule.max { add(String(format: "max %g", max), max, "<=", value.mean <= max) }
            if let min = rule.min { add(String(format: "min %g", min), min, ">=", value.mean >= min) }
            guard rule.maxRegression != nil || rule.minChange != nil else { continue }
            let baselineName: String
            let base: Double
            switch rule.against ?? .variant("baseline") {
            case .variant(let name):
                baselineName = name
                base = estimate(results[name]?[metric] ?? []).mean
            case .manifest(let path):
                baselineName = "manifest \(path)"
                base = stored[path]?.metrics[metric] ?? .nan
            }
            let higher = Metrics.higherIsBetter(metric)
            guard base.isFinite else {
                add("against \(baselineName), which has no \(metric) results", .nan, higher ? ">=" : "<=", false)
                continue
            }
            if let regression = rule.maxRegression {
                let allowed = regression.amount(relativeTo: base)
                let limit = higher ? base - allowed : base + allowed
                add(String(format: "max_regression %@ of %@ %.6g (limit %.6g)", describe(regression), baselineName, base, limit), limit,
                    higher ? ">=" : "<=", higher ? value.mean >= limit : value.mean <= limit)
            }
            if let change = rule.minChange {
                add(String(format: "min_change %g against %@ %.6g (limit %.6g)", change, baselineName, base, base + change), base + change,
                    ">=", value.mean - base >= change)
            }
        }
        return out
    }

    /// The outcome as a manifest records it (non-finite numbers become nil / 0, which JSON cannot carry).
    public static func result(_ o: Outcome) -> GateResult {
        GateResult(metric: o.metric, comparison: o.comparison, threshold: o.limit.isFinite ? o.limit : 0,
                   value: o.value.mean.isFinite ? o.value.mean : nil, passed: o.passed, rule: o.threshold,
                   ciHalfWidth: o.value.halfWidth.isFinite ? o.value.halfWidth : nil, seeds: o.value.count, variant: o.variant)
    }

    static func describe(_ amount: ChangeAmount) -> String {
        switch amount {
        case .absolute(let x): return String(format: "%g", x)
        case .relative(let f): return String(format: "%g%%", f * 100)
        }
    }

    /// Variants × metrics, `mean ± 95% CI` over seeds, in the given orders.
    public static func summaryTable(variants: [String], metrics: [String], results: [String: [String: [Double]]]) -> String {
        let header = ["variant"] + metrics
        var rows: [[String]] = [header]
        for v in variants {
            rows.append([v] + metrics.map { m in
                let e = estimate(results[v]?[m] ?? [])
                guard e.count > 0 else { return "—" }
                return e.count > 1 ? String(format: "%.4g ± %.2g", e.mean, e.halfWidth) : String(format: "%.4g", e.mean)
            })
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max()! }
        return rows.map { row in
            row.enumerated().map { c, cell in cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// A gate that cannot be evaluated because its input is bad (a baseline manifest missing,
/// malformed or without the metric): invalid input, not a failed gate.
public struct GateError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
