import Foundation

/// What a split can be stratified by. Raw values are the experiment file's names.
public enum StratifyKey: String, Codable, CaseIterable, Sendable {
    case tumourCount = "tumour_count"
    case tumourVolume = "tumour_volume"
    case healthyMua = "healthy_mua"
    case healthyMusp = "healthy_musp"
    case tissueCoverage = "tissue_coverage"

    /// Suggested fixed bin edges (for `Binning.edges`). Tumour volume is the tumour fraction of the volume (so the same edges
    /// serve 32³ and 64³); tumour count has no edges (each count is its own stratum).
    public var defaultEdges: [Double] {
        switch self {
        case .tumourCount: return []
        case .tumourVolume: return [0.005, 0.02, 0.05]
        case .healthyMua: return [0.004, 0.005, 0.006]
        case .healthyMusp: return [0.88, 0.98, 1.08]
        case .tissueCoverage: return [0.3, 0.4]
        }
    }

    /// Tumour count is discrete already; the others are binned.
    public var isBinned: Bool { self != .tumourCount }

    func value(_ s: PhantomStats) -> Double {
        switch self {
        case .tumourCount: return Double(s.tumourCount)
        case .tumourVolume: return s.voxels > 0 ? Double(s.tumourVolume) / Double(s.voxels) : 0
        case .healthyMua: return s.healthyMua
        case .healthyMusp: return s.healthyMusp
        case .tissueCoverage: return s.tissueCoverage
        }
    }
}

/// How a binned key's values become strata.
public enum Binning: Hashable, Sendable {
    /// Fixed edges: values < edges[0] fall in bin 0, values in [edges[i-1], edges[i]) in bin i,
    /// values ≥ the last edge in the last bin.
    case edges([Double])
    /// `n` bins of (about) equal population: edges at the i/n quantiles of the phantoms' values
    /// (equal edges merged, so ties never create empty bins).
    case quantiles(Int)
}

public struct SplitConfig: Hashable, Sendable {
    /// Part names and their ratios, in order (e.g. train 0.8, val 0.1, test 0.1).
    public var parts: [String]
    public var ratios: [Double]
    public var stratifyBy: [StratifyKey]
    /// Binning per binned key; keys not listed use `defaultBinning`.
    public var bins: [StratifyKey: Binning]
    public var seed: UInt64
    public static let defaultBinning = Binning.quantiles(3)

    public init(parts: [String] = ["train", "val", "test"], ratios: [Double] = [0.8, 0.1, 0.1],
                stratifyBy: [StratifyKey] = [.tumourCount, .tumourVolume, .healthyMua], bins: [StratifyKey: Binning] = [:], seed: UInt64 = 0) {
        self.parts = parts; self.ratios = ratios; self.stratifyBy = stratifyBy; self.bins = bins; self.seed = seed
    }
}

public struct SplitError: Error, CustomStringConvertible, Equatable {
    public var description: String
}

/// A train/val/test split: ids per part and how each stratum was divided.
public struct Split: Codable, Hashable, Sendable {
    public struct Stratum: Codable, Hashable, Sendable {
        /// e.g. "tumour_count=2, healthy_mua=[0.004, 0.005)"
        public var label: String
        public var total: Int
        /// Phantoms of this stratum in each part, in `parts` order.
        public var counts: [Int]
    }

    public var parts: [String]
    /// Ids per part (ascending), in `parts` order.
    public var ids: [[Int]]
    public var strata: [Stratum]
    /// The bin edges used per binned key (quantile edges as computed from the data).
    public var binEdges: [String: [Double]]

    public func ids(of part: String) -> [Int] { parts.firstIndex(of: part).map { ids[$0] } ?? [] }
}

public enum Stratify {
    /// Splits `stats` (id → statistics) by `config`. Within each stratum the part sizes are the
    /// largest-remainder allocation of its size by the ratios (so each is within ±1 of the exact
    /// target), and which phantoms go where is a seeded shuffle of the stratum's ids.
    public static func split(_ stats: [Int: PhantomStats], config: SplitConfig) throws -> Split {
        guard config.parts.count == config.ratios.count, !config.parts.isEmpty else {
            throw SplitError(description: "split: \(config.parts.count) parts but \(config.ratios.count) ratios")
        }
        guard Set(config.parts).count == config.parts.count else { throw SplitError(description: "split: duplicate part names \(config.parts)") }
        guard config.ratios.allSatisfy({ $0 >= 0 && $0.isFinite }), abs(config.ratios.reduce(0, +) - 1) < 1e-6 else {
            throw SplitError(description: "split: ratios \(config.ratios) must be ≥ 0 and sum to 1")
        }
        var edges: [StratifyKey: [Double]] = [:]
        for key in config.stratifyBy where key.isBinned {
            switch config.bins[key] ?? SplitConfig.defaultBinning {
            case .edges(let e):
                guard !zip(e, e.dropFirst()).contains(where: { $0 >= $1 }), e.allSatisfy(\.isFinite) else {
                    throw SplitError(description: "split: bin edges of \(key.rawValue) must be finite and increase strictly (got \(e))")
                }
                edges[key] = e
            case .quantiles(let n):
                guard n >= 1 else { throw SplitError(description: "split: \(key.rawValue) needs at least 1 bin (got \(n))") }
                let values = stats.values.map { key.value($0) }.sorted()
                var e: [Double] = []
                for i in 1..<max(n, 1) where !values.isEmpty {
                    let q = values[min(values.count - 1, i * values.count / n)]
                    if q > (e.last ?? values[0]) { e.append(q) }
                }
                edges[key] = e
            }
        }

        // Stratum of every phantom: one bin index per key.
        var groups: [[Int]: [Int]] = [:]
        for (id, s) in stats {
            let bins = config.stratifyBy.map { key in
                let v = key.value(s)
                guard key.isBinned, let e = edges[key] else { return Int(v) }
                return e.filter { v >= $0 }.count
            }
            groups[bins, default: []].append(id)
        }

        var rng = SplitMix64(seed: config.seed, stream: 0x5EED_5F11)
        var ids = [[Int]](repeating: [], count: config.parts.count)
        var strata: [Split.Stratum] = []
        for bins in groups.keys.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            var members = groups[bins]!.sorted()
            for i in stride(from: members.count - 1, to: 0, by: -1) { members.swapAt(i, rng.below(i + 1)) }
            let sizes = allocate(members.count, ratios: config.ratios)
            var start = 0
            for (p, size) in sizes.enumerated() {
                ids[p] += members[start..<(start + size)]
                start += size
            }
            strata.append(Split.Stratum(label: label(bins, keys: config.stratifyBy, edges: edges), total: members.count, counts: sizes))
        }
        return Split(parts: config.parts, ids: ids.map { $0.sorted() }, strata: strata,
                     binEdges: Dictionary(uniqueKeysWithValues: edges.map { ($0.key.rawValue, $0.value) }))
    }

    /// Largest-remainder (Hamilton) allocation of `n` items by `ratios`; ties go to the earlier part.
    public static func allocate(_ n: Int, ratios: [Double]) -> [Int] {
        let exact = ratios.map { Double(n) * $0 }
        var sizes = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(sizes[$0]), -$0) > (exact[$1] - Double(sizes[$1]), -$1) }
        for i in order.prefix(n - sizes.reduce(0, +)) { sizes[i] += 1 }
        return sizes
    }

    static func label(_ bins: [Int], keys: [StratifyKey], edges allEdges: [StratifyKey: [Double]]) -> String {
        zip(keys, bins).map { key, bin in
            let edges = allEdges[key] ?? []
            if !key.isBinned { return "\(key.rawValue)=\(bin)" }
            if edges.isEmpty { return "\(key.rawValue)=all" }
            if bin == 0 { return "\(key.rawValue)<\(edges[0])" }
            if bin == edges.count { return "\(key.rawValue)≥\(edges[bin - 1])" }
            return "\(key.rawValue)=[\(edges[bin - 1]), \(edges[bin]))"
        }.joined(separator: ", ")
    }
}
