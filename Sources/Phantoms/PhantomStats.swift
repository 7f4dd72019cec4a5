/// What the split stratifies on, measured from a phantom's own volumes (so it works for ingested
/// data as well as for generated data).
public struct PhantomStats: Hashable, Codable, Sendable {
    /// Distinct tumour labels (≥ 2) present.
    public var tumourCount: Int
    /// Voxels (= mm³) labelled as tumour.
    public var tumourVolume: Int
    /// Mean μa and μs′ over healthy-tissue voxels (label 1), mm⁻¹; 0 when there are none.
    public var healthyMua: Double
    public var healthyMusp: Double
    /// Fraction of voxels with label ≥ 1.
    public var tissueCoverage: Double
    /// Voxels of the volume (D·H·W).
    public var voxels: Int

    public init(tumourCount: Int, tumourVolume: Int, healthyMua: Double, healthyMusp: Double, tissueCoverage: Double, voxels: Int) {
        self.tumourCount = tumourCount; self.tumourVolume = tumourVolume
        self.healthyMua = healthyMua; self.healthyMusp = healthyMusp; self.tissueCoverage = tissueCoverage; self.voxels = voxels
    }

    public init(_ phantom: Phantom) {
        let n = phantom.voxelCount
        var present = [Bool](repeating: false, count: 256)
        var tissue = 0, tumour = 0, healthy = 0
        var sumMua = 0.0, sumMusp = 0.0
        phantom.tissueLabels.withUnsafeBufferPointer { l in
            phantom.groundTruth.withUnsafeBufferPointer { t in
                for i in 0..<n {
                    let label = l[i]
                    present[Int(label)] = true
                    if label >= 1 { tissue += 1 }
                    if label >= 2 { tumour += 1 }
                    if label == 1 { healthy += 1; sumMua += Double(t[i]); sumMusp += Double(t[n + i]) }
                }
            }
        }
        self.init(tumourCount: present[2...].filter { $0 }.count, tumourVolume: tumour,
                  healthyMua: healthy > 0 ? sumMua / Double(healthy) : 0,
                  healthyMusp: healthy > 0 ? sumMusp / Double(healthy) : 0,
                  tissueCoverage: n > 0 ? Double(tissue) / Double(n) : 0, voxels: n)
    }
}
