import Foundation

/// The rules a phantom must pass to enter training. Ranges are inclusive.
public struct CleaningRules: Hashable, Codable, Sendable {
    /// Physical range of μa (mm⁻¹) inside tissue (label ≥ 1).
    public var muaRange: ClosedRange<Double>
    /// Physical range of μs′ (mm⁻¹) inside tissue.
    public var muspRange: ClosedRange<Double>
    /// Allowed fraction of voxels with label ≥ 1.
    public var tissueCoverage: ClosedRange<Double>
    /// (D, H, W) every phantom must have; nil means the size most phantoms of the set have (ties:
    /// the size of the lowest id), so one data set never mixes volume sizes.
    public var expectedSize: [Int]?
    /// Reject NaN / ±inf anywhere in the ground truth.
    public var requireFinite: Bool
    /// Reject air voxels with non-zero properties and tissue voxels with a zero property.
    public var checkLabels: Bool
    /// Reject a phantom whose volumes equal a lower id's.
    public var dropDuplicates: Bool

    public init(muaRange: ClosedRange<Double> = 0...0.05, muspRange: ClosedRange<Double> = 0...4.0,
                tissueCoverage: ClosedRange<Double> = 0.15...0.60, expectedSize: [Int]? = nil,
                requireFinite: Bool = true, checkLabels: Bool = true, dropDuplicates: Bool = true) {
        self.muaRange = muaRange; self.muspRange = muspRange; self.tissueCoverage = tissueCoverage; self.expectedSize = expectedSize
        self.requireFinite = requireFinite; self.checkLabels = checkLabels; self.dropDuplicates = dropDuplicates
    }
}

/// Why a phantom was rejected. `code` is stable (reports, histograms); `description` says the details.
public enum RejectionReason: Hashable, Sendable, CustomStringConvertible {
    case unreadable(detail: String)
    case missingDataset(String)
    case wrongType(dataset: String, found: String)
    case wrongShape(dataset: String, found: [Int])
    case nonFinite(channel: String, count: Int)
    case outOfRange(channel: String, min: Double, max: Double, allowed: ClosedRange<Double>)
    case tissueCoverage(Double, allowed: ClosedRange<Double>)
    case inconsistentLabels(airWithValues: Int, tissueWithZero: Int)
    case duplicate(of: Int)

    public var code: String {
        switch self {
        case .unreadable: return "unreadable"
        case .missingDataset: return "missing_dataset"
        case .wrongType: return "wrong_dtype"
        case .wrongShape: return "wrong_shape"
        case .nonFinite: return "non_finite"
        case .outOfRange: return "out_of_range"
        case .tissueCoverage: return "tissue_coverage"
        case .inconsistentLabels: return "inconsistent_labels"
        case .duplicate: return "duplicate"
        }
    }

    public var description: String {
        switch self {
        case .unreadable(let d): return "unreadable file: \(d)"
        case .missingDataset(let d): return "dataset '\(d)' is missing"
        case .wrongType(let d, let f): return "dataset '\(d)' has dtype \(f)"
        case .wrongShape(let d, let f): return "dataset '\(d)' has shape \(f)"
        case .nonFinite(let c, let n): return "\(n) non-finite \(c) values"
        case .outOfRange(let c, let lo, let hi, let r):
            return "\(c) in tissue spans [\(lo), \(hi)] mm⁻¹, outside [\(r.lowerBound), \(r.upperBound)]"
        case .tissueCoverage(let f, let r):
            return "tissue coverage \(String(format: "%.3f", f)) outside [\(r.lowerBound), \(r.upperBound)]"
        case .inconsistentLabels(let a, let t):
            return "labels inconsistent with values: \(a) air voxels with non-zero properties, \(t) tissue voxels with zero"
        case .duplicate(let id): return "duplicate of phantom \(id)"
        }
    }
}

/// One phantom file to check.
public struct PhantomSource: Hashable, Sendable {
    public var id: Int
    public var url: URL
    public init(id: Int, url: URL) { self.id = id; self.url = url }
}

/// The outcome of cleaning a set of phantoms.
public struct CleaningResult: Sendable {
    /// Ids that passed every rule, ascending.
    public var accepted: [Int]
    /// Ids that failed, ascending, with every reason found.
    public var rejected: [(id: Int, reasons: [RejectionReason])]
    /// Statistics of every readable phantom (accepted ones feed the split).
    public var stats: [Int: PhantomStats]
    /// Content hash of every readable phantom.
    public var hashes: [Int: ContentHash]

    /// Rejections per reason code.
    public var reasonCounts: [String: Int] {
        var out: [String: Int] = [:]
        for r in rejected { for code in Set(r.reasons.map(\.code)) { out[code, default: 0] += 1 } }
        return out
    }
}

public enum Cleaning {
    /// Checks one phantom's volumes (not duplicates, which need the whole set).
    public static func check(_ p: Phantom, rules: CleaningRules) -> [RejectionReason] {
        var reasons: [RejectionReason] = []
        if let expected = rules.expectedSize, p.size != expected {
            reasons.append(.wrongShape(dataset: PhantomIO.tissueLabelsName, found: p.size))
            return reasons
        }
        let n = p.voxelCount
        var nonFinite = [0, 0]
        var lo = [Double.infinity, .infinity], hi = [-Double.infinity, -.infinity]
        var airWithValues = 0, tissueWithZero = 0, tissue = 0
        p.tissueLabels.withUnsafeBufferPointer { l in
            p.groundTruth.withUnsafeBufferPointer { t in
                for i in 0..<n {
                    let a = t[i], s = t[n + i]
                    if !a.isFinite { nonFinite[0] += 1 }
                    if !s.isFinite { nonFinite[1] += 1 }
                    if l[i] == 0 {
                        if a != 0 || s != 0 { airWithValues += 1 }
                    } else {
                        tissue += 1
                        if a == 0 || s == 0 { tissueWithZero += 1 }
                        if a.isFinite { lo[0] = min(lo[0], Double(a)); hi[0] = max(hi[0], Double(a)) }
                        if s.isFinite { lo[1] = min(lo[1], Double(s)); hi[1] = max(hi[1], Double(s)) }
                    }
                }
            }
        }
        let names = ["mua", "musp"]
        for c in 0..<2 where rules.requireFinite && nonFinite[c] > 0 { reasons.append(.nonFinite(channel: names[c], count: nonFinite[c])) }
        for (c, range) in [rules.muaRange, rules.muspRange].enumerated() where tissue > 0 && lo[c] <= hi[c] {
            if lo[c] < range.lowerBound || hi[c] > range.upperBound {
                reasons.append(.outOfRange(channel: names[c], min: lo[c], max: hi[c], allowed: range))
            }
        }
        let coverage = n > 0 ? Double(tissue) / Double(n) : 0
        if !rules.tissueCoverage.contains(coverage) { reasons.append(.tissueCoverage(coverage, allowed: rules.tissueCoverage)) }
        if rules.checkLabels && (airWithValues > 0 || tissueWithZero > 0) {
            reasons.append(.inconsistentLabels(airWithValues: airWithValues, tissueWithZero: tissueWithZero))
        }
        return reasons
    }

    /// Reads and checks every file on `threads` threads, then marks content duplicates (the lowest
    /// id of a group is kept). A file that cannot be read is a rejection, never an error.
    public static func clean(_ sources: [PhantomSource], rules: CleaningRules, threads: Int,
                             progress: @escaping (Int) -> Void = { _ in },
                             isCancelled: @escaping () -> Bool = { false }) throws -> CleaningResult {
        let ordered = sources.sorted { $0.id < $1.id }
        let slots = Slots<Examined>(count: ordered.count)
        let done = Counter()
        try ParallelLoop.run(count: ordered.count, threads: threads, isCancelled: isCancelled) { i in
            slots[i] = examine(ordered[i], rules: rules)
            progress(done.increment())
        }
        if isCancelled() { throw CancellationError() }
        // Without an expected size, the data set's size is the most common one among readable phantoms.
        var sizeCounts: [[Int]: (count: Int, first: Int)] = [:]
        for i in ordered.indices { if let size = slots[i]?.size { sizeCounts[size, default: (0, i)].count += 1 } }
        let commonSize = rules.expectedSize ?? sizeCounts.max { ($0.value.count, -$0.value.first) < ($1.value.count, -$1.value.first) }?.key
        var result = CleaningResult(accepted: [], rejected: [], stats: [:], hashes: [:])
        var firstWithHash: [ContentHash: Int] = [:]
        for (i, source) in ordered.enumerated() {
            guard var outcome = slots[i] else { continue }
            if let size = outcome.size, let commonSize, size != commonSize, outcome.reasons.isEmpty {
                outcome.reasons.append(.wrongShape(dataset: PhantomIO.tissueLabelsName, found: size))
            }
            if let hash = outcome.hash {
                result.hashes[source.id] = hash
                if let first = firstWithHash[hash] {
                    if rules.dropDuplicates { outcome.reasons.append(.duplicate(of: first)) }
                } else {
                    firstWithHash[hash] = source.id
                }
            }
            if let stats = outcome.stats { result.stats[source.id] = stats }
            if outcome.reasons.isEmpty { result.accepted.append(source.id) } else { result.rejected.append((source.id, outcome.reasons)) }
        }
        return result
    }

    struct Examined {
        var reasons: [RejectionReason]
        var stats: PhantomStats?
        var hash: ContentHash?
        var size: [Int]?
    }

    static func examine(_ source: PhantomSource, rules: CleaningRules) -> Examined {
        do {
            let phantom = try PhantomIO.read(source.url, id: source.id)
            return Examined(reasons: check(phantom, rules: rules), stats: PhantomStats(phantom), hash: ContentHash(phantom: phantom), size: phantom.size)
        } catch let error as PhantomFileError {
            switch error {
            case .unreadable(let e): return Examined(reasons: [.unreadable(detail: e.description)])
            case .missingDataset(_, let d): return Examined(reasons: [.missingDataset(d)])
            case .wrongType(_, let d, _, let f): return Examined(reasons: [.wrongType(dataset: d, found: f)])
            case .wrongShape(_, let d, _, let f): return Examined(reasons: [.wrongShape(dataset: d, found: f)])
            }
        } catch {
            return Examined(reasons: [.unreadable(detail: "\(error)")])
        }
    }
}

/// Fixed slots written by parallel workers (each index by exactly one worker).
final class Slots<T>: @unchecked Sendable {
    private var items: [T?]
    private let lock = NSLock()
    init(count: Int) { items = Array(repeating: nil, count: count) }
    subscript(i: Int) -> T? {
        get { lock.lock(); defer { lock.unlock() }; return items[i] }
        set { lock.lock(); defer { lock.unlock() }; items[i] = newValue }
    }
}
