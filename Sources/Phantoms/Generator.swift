import Foundation

/// The synthetic phantom generator of DESIGN.md ("Phantom files").
///
/// Geometry (1 mm voxels, cubic volume of `size`³, scale s = size / 64): voxel (z, y, x) has its
/// centre at ((z, y, x) + 0.5 − size/2) mm. A healthy-tissue ellipsoid centred in the volume with
/// semi-axes ~ U[25, 30]·s mm and a uniformly random rotation; then 0–5 tumours (count uniform),
/// each a rotated ellipsoid with semi-axes ~ U[5, 15]·s mm whose centre is uniform inside the
/// tissue ellipsoid, accepted when ≥ 80 % of its voxels lie in tissue (up to 50 tries, else that
/// tumour is dropped). Tumour voxels are the accepted ellipsoid ∩ tissue; a later tumour overwrites
/// an earlier one where they overlap. Properties: healthy μa ~ U[0.003, 0.007], μs′ ~ U[0.78, 1.18]
/// mm⁻¹; tumour j multiplies them by U[1.5, 3.5] and U[1.5, 2.5]; labels 0 air, 1 healthy, 2+j tumour j.
///
/// Every random number of phantom k comes from `SplitMix64(seed:, stream: k)`, drawn in a fixed
/// order (tissue axes, rotation, μa, μs′, tumour count, then per try: axes, rotation, centre; on
/// acceptance the two factors), so phantom k is the same whichever thread makes it.
///
/// Speed: an ellipsoid is rasterised row by row: for each (z, y) row inside its bounding box the
/// x-interval inside it is solved analytically, so only the voxels written are touched, and the
/// ≥ 80 % test is the overlap of a tumour's row intervals with the tissue's.
public struct PhantomGenerator: Sendable {
    public var size: Int
    public var seed: UInt64
    public var healthyAxes: ClosedRange<Double> = 25...30
    public var tumourAxes: ClosedRange<Double> = 5...15
    public var maxTumours: Int = 5
    public var minInsideFraction: Double = 0.8
    public var tries: Int = 50
    public var healthyMua: ClosedRange<Double> = 0.003...0.007
    public var healthyMusp: ClosedRange<Double> = 0.78...1.18
    public var tumourMuaFactor: ClosedRange<Double> = 1.5...3.5
    public var tumourMuspFactor: ClosedRange<Double> = 1.5...2.5

    public init(size: Int, seed: UInt64) {
        self.size = size; self.seed = seed
    }

    /// What was drawn for one phantom (before rasterisation), for tests and reports.
    public struct Description: Hashable, Sendable {
        public var healthyMua: Double
        public var healthyMusp: Double
        public var tumourCount: Int
        public var tumourFactors: [[Double]]
        /// Fraction of each accepted tumour ellipsoid's voxels that lay in tissue (≥ minInsideFraction).
        public var tumourInsideFractions: [Double]
    }

    public func phantom(_ index: Int) -> Phantom { generate(index).phantom }

    public func generate(_ index: Int) -> (phantom: Phantom, description: Description) {
        var rng = SplitMix64(seed: seed, stream: UInt64(index))
        let n = size
        let scale = Double(n) / 64
        let count = n * n * n
        var labels = [UInt8](repeating: 0, count: count)
        var truth = [Float](repeating: 0, count: 2 * count)

        let tissue = Ellipsoid(centre: (0, 0, 0),
                               axes: (rng.uniform(healthyAxes.lowerBound, healthyAxes.upperBound) * scale,
                                      rng.uniform(healthyAxes.lowerBound, healthyAxes.upperBound) * scale,
                                      rng.uniform(healthyAxes.lowerBound, healthyAxes.upperBound) * scale),
                               rotation: Ellipsoid.randomRotation(&rng))
        let mua = rng.uniform(healthyMua.lowerBound, healthyMua.upperBound)
        let musp = rng.uniform(healthyMusp.lowerBound, healthyMusp.upperBound)
        let tissueSpans = tissue.spans(size: n)
        let (muaF, muspF) = (Float(mua), Float(musp))
        truth.withUnsafeMutableBufferPointer { t in
            labels.withUnsafeMutableBufferPointer { l in
                for row in 0..<(n * n) {
                    let (lo, hi) = (Int(tissueSpans[2 * row]), Int(tissueSpans[2 * row + 1]))
                    guard lo < hi else { continue }
                    let base = row * n
                    for i in (base + lo)..<(base + hi) { l[i] = 1; t[i] = muaF; t[count + i] = muspF }
                }
            }
        }

        let wanted = rng.below(maxTumours + 1)
        var factors: [[Double]] = []
        var insideFractions: [Double] = []
        for _ in 0..<wanted {
            var accepted: [Int32]?
            for _ in 0..<tries {
                let axes = (rng.uniform(tumourAxes.lowerBound, tumourAxes.upperBound) * scale,
                            rng.uniform(tumourAxes.lowerBound, tumourAxes.upperBound) * scale,
                            rng.uniform(tumourAxes.lowerBound, tumourAxes.upperBound) * scale)
                let rotation = Ellipsoid.randomRotation(&rng)
                let centre = tissue.randomInteriorPoint(&rng)
                let tumour = Ellipsoid(centre: centre, axes: axes, rotation: rotation)
                let spans = tumour.spans(size: n)
                var total = 0, inside = 0
                for row in 0..<(n * n) {
                    let (lo, hi) = (spans[2 * row], spans[2 * row + 1])
                    guard lo < hi else { continue }
                    total += Int(hi - lo)
                    let overlap = min(hi, tissueSpans[2 * row + 1]) - max(lo, tissueSpans[2 * row])
                    if overlap > 0 { inside += Int(overlap) }
                }
                if total > 0, Double(inside) >= minInsideFraction * Double(total) {
                    accepted = spans; insideFractions.append(Double(inside) / Double(total)); break
                }
            }
            guard let spans = accepted else { continue }
            let fa = rng.uniform(tumourMuaFactor.lowerBound, tumourMuaFactor.upperBound)
            let fs = rng.uniform(tumourMuspFactor.lowerBound, tumourMuspFactor.upperBound)
            let label = UInt8(2 + factors.count)
            factors.append([fa, fs])
            let (ta, ts) = (Float(mua * fa), Float(musp * fs))
            truth.withUnsafeMutableBufferPointer { t in
                labels.withUnsafeMutableBufferPointer { l in
                    for row in 0..<(n * n) {
                        let lo = Int(max(spans[2 * row], tissueSpans[2 * row]))
                        let hi = Int(min(spans[2 * row + 1], tissueSpans[2 * row + 1]))
                        guard lo < hi else { continue }
                        let base = row * n
                        for i in (base + lo)..<(base + hi) { l[i] = label; t[i] = ta; t[count + i] = ts }
                    }
                }
            }
        }
        let phantom = Phantom(id: index, size: [n, n, n], groundTruth: truth, tissueLabels: labels)
        return (phantom, Description(healthyMua: mua, healthyMusp: musp, tumourCount: factors.count, tumourFactors: factors, tumourInsideFractions: insideFractions))
    }
}

/// A rotated ellipsoid in volume coordinates (mm, origin at the volume centre).
struct Ellipsoid {
    var centre: (Double, Double, Double)   // (z, y, x)
    var axes: (Double, Double, Double)
    /// Row-major 3×3 rotation (body → volume).
    var rotation: [Double]
    /// Quadratic form Q = R diag(1/a²) Rᵀ: p inside ⟺ (p−c)ᵀ Q (p−c) ≤ 1.
    let q: [Double]

    init(centre: (Double, Double, Double), axes: (Double, Double, Double), rotation: [Double]) {
        self.centre = centre; self.axes = axes; self.rotation = rotation
        let inv = [1 / (axes.0 * axes.0), 1 / (axes.1 * axes.1), 1 / (axes.2 * axes.2)]
        var q = [Double](repeating: 0, count: 9)
        for r in 0..<3 { for c in 0..<3 { for k in 0..<3 { q[3 * r + c] += rotation[3 * r + k] * inv[k] * rotation[3 * c + k] } } }
        self.q = q
    }

    /// A uniformly random rotation from a random unit quaternion (Shoemake 1992).
    static func randomRotation(_ rng: inout SplitMix64) -> [Double] {
        let u1 = rng.unit(), u2 = rng.unit(), u3 = rng.unit()
        let a = (1 - u1).squareRoot(), b = u1.squareRoot()
        let w = a * sin(2 * .pi * u2), x = a * cos(2 * .pi * u2)
        let y = b * sin(2 * .pi * u3), z = b * cos(2 * .pi * u3)
        return [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
                2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
                2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]
    }

    /// A point uniform inside the ellipsoid (rejection from the cube around the unit ball).
    func randomInteriorPoint(_ rng: inout SplitMix64) -> (Double, Double, Double) {
        var u = (0.0, 0.0, 0.0)
        repeat {
            u = (rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1))
        } while u.0 * u.0 + u.1 * u.1 + u.2 * u.2 > 1
        let b = (u.0 * axes.0, u.1 * axes.1, u.2 * axes.2)
        let r = rotation
        return (centre.0 + r[0] * b.0 + r[1] * b.1 + r[2] * b.2,
                centre.1 + r[3] * b.0 + r[4] * b.1 + r[5] * b.2,
                centre.2 + r[6] * b.0 + r[7] * b.1 + r[8] * b.2)
    }

    /// For every row (z, y) of a size³ volume, the half-open x-index interval [lo, hi) of voxel
    /// centres inside the ellipsoid (lo == hi when empty), as a flat array of 2·size² values.
    func spans(size n: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: 2 * n * n)
        let half = Double(n) / 2
        // Half-extents of the bounding box: sqrt of the diagonal of Q⁻¹ = R diag(a²) Rᵀ.
        let a2 = [axes.0 * axes.0, axes.1 * axes.1, axes.2 * axes.2]
        func extent(_ r: Int) -> Double {
            (rotation[3 * r] * rotation[3 * r] * a2[0] + rotation[3 * r + 1] * rotation[3 * r + 1] * a2[1] + rotation[3 * r + 2] * rotation[3 * r + 2] * a2[2]).squareRoot()
        }
        func indexRange(_ c: Double, _ e: Double) -> Range<Int> {
            // voxel centre i + 0.5 − half within [c − e, c + e]
            let lo = max(0, Int((c - e + half - 0.5).rounded(.up)))
            let hi = min(n - 1, Int((c + e + half - 0.5).rounded(.down)))
            return lo <= hi ? lo..<(hi + 1) : 0..<0
        }
        let (a, b, c) = (q[8], q[7], q[6])   // x², xy (half), xz (half) coefficients: row 2 of Q
        for z in indexRange(centre.0, extent(0)) {
            let dz = Double(z) + 0.5 - half - centre.0
            for y in indexRange(centre.1, extent(1)) {
                let dy = Double(y) + 0.5 - half - centre.1
                // a·dx² + 2·dx·(Q_xz dz + Q_xy dy) + (Q_zz dz² + 2 Q_zy dz dy + Q_yy dy²) − 1 ≤ 0
                let bb = c * dz + b * dy
                let cc = q[0] * dz * dz + 2 * q[1] * dz * dy + q[4] * dy * dy - 1
                let disc = bb * bb - a * cc
                guard disc >= 0 else { continue }
                let root = disc.squareRoot()
                let x0 = (-bb - root) / a + centre.2, x1 = (-bb + root) / a + centre.2
                let lo = max(0, Int((x0 + half - 0.5).rounded(.up)))
                let hi = min(n - 1, Int((x1 + half - 0.5).rounded(.down)))
                guard lo <= hi else { continue }
                let row = z * n + y
                out[2 * row] = Int32(lo); out[2 * row + 1] = Int32(hi + 1)
            }
        }
        return out
    }
}
