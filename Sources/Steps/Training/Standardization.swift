import Foundation
import Tensor

/// `training.standardize_targets: true`: per-channel (μa, μs′) mean and standard deviation over
/// every voxel of the train part. The model sees and predicts `(x − mean) / std`; its output is
/// mapped back with `y · std + mean`, so losses are in standardised units but every metric is in
/// raw mm⁻¹. Stored in the checkpoints' metadata (`target_standardization`) so evaluate and
/// predict apply exactly the statistics the model was trained with.
public struct TargetStandardization: Codable, Equatable, Sendable {
    public var mean: [Double]
    public var std: [Double]

    /// The safetensors metadata key holding this value as JSON.
    public static let metadataKey = "target_standardization"

    public init(mean: [Double], std: [Double]) throws {
        guard mean.count == std.count, !mean.isEmpty else {
            throw StepError("target standardisation: \(mean.count) means but \(std.count) standard deviations")
        }
        for (c, s) in std.enumerated() where !(s > 0 && s.isFinite) || !mean[c].isFinite {
            throw StepError("target standardisation: channel \(c) has mean \(mean[c]) and std \(s) (the std must be finite and > 0)")
        }
        self.mean = mean
        self.std = std
    }

    /// Mean and population standard deviation per channel over `volumes` (each C×V, channel-major),
    /// accumulated in Double in two passes so the result does not depend on the volume order's
    /// rounding more than necessary.
    public static func fit(_ volumes: [[Float]], channels: Int) throws -> TargetStandardization {
        guard let first = volumes.first, first.count % channels == 0, first.count > 0 else {
            throw StepError("target standardisation: no train volumes to fit on")
        }
        let v = first.count / channels
        var sum = [Double](repeating: 0, count: channels)
        for volume in volumes {
            guard volume.count == first.count else { throw StepError("target standardisation: volumes of different sizes") }
            for c in 0..<channels { for i in (c * v)..<((c + 1) * v) { sum[c] += Double(volume[i]) } }
        }
        let n = Double(volumes.count * v)
        let mean = sum.map { $0 / n }
        var squares = [Double](repeating: 0, count: channels)
        for volume in volumes {
            for c in 0..<channels { for i in (c * v)..<((c + 1) * v) { let d = Double(volume[i]) - mean[c]; squares[c] += d * d } }
        }
        let std = squares.map { ($0 / n).squareRoot() }
        for (c, s) in std.enumerated() where !(s > 0) {
            throw StepError("target standardisation: channel \(c) is constant (\(mean[c])) on the train part, so it cannot be standardised")
        }
        return try TargetStandardization(mean: mean, std: std)
    }

    /// `(x − mean) / std` per channel of one C×V volume.
    public func standardize(_ volume: [Float]) -> [Float] {
        let v = volume.count / mean.count
        var out = volume
        for c in 0..<mean.count {
            let m = Float(mean[c]), s = Float(std[c])
            for i in (c * v)..<((c + 1) * v) { out[i] = (volume[i] - m) / s }
        }
        return out
    }

    /// `y · std + mean` per channel of a batch [N, C, …] (the model's output back to raw units).
    public func destandardize(_ batch: Tensor) throws -> Tensor {
        guard batch.rank >= 2, batch.shape[1] == mean.count else {
            throw StepError("target standardisation: a batch of shape \(batch.shape) does not have \(mean.count) channels")
        }
        var out = batch
        let n = batch.shape[0], c = mean.count, v = batch.count / max(1, n * c)
        out.withUnsafeMutableBufferPointer { p in
            for s in 0..<n {
                for k in 0..<c {
                    let m = Float(mean[k]), d = Float(std[k])
                    let base = (s * c + k) * v
                    for i in base..<(base + v) { p[i] = p[i] * d + m }
                }
            }
        }
        return out
    }

    /// `(x − mean) / std` of a batch [N, C, …].
    public func standardize(_ batch: Tensor) throws -> Tensor {
        guard batch.rank >= 2, batch.shape[1] == mean.count else {
            throw StepError("target standardisation: a batch of shape \(batch.shape) does not have \(mean.count) channels")
        }
        var out = batch
        let n = batch.shape[0], c = mean.count, v = batch.count / max(1, n * c)
        out.withUnsafeMutableBufferPointer { p in
            for s in 0..<n {
                for k in 0..<c {
                    let m = Float(mean[k]), d = Float(std[k])
                    let base = (s * c + k) * v
                    for i in base..<(base + v) { p[i] = (p[i] - m) / d }
                }
            }
        }
        return out
    }

    /// The metadata value (sorted-key JSON).
    public var metadataValue: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Reads the metadata value; nil when absent, an error when present but malformed.
    public static func fromMetadata(_ metadata: [String: String]) throws -> TargetStandardization? {
        guard let text = metadata[metadataKey] else { return nil }
        let decoded: TargetStandardization
        do { decoded = try JSONDecoder().decode(TargetStandardization.self, from: Data(text.utf8)) } catch {
            throw StepError("\(metadataKey) metadata is not valid: \(error)")
        }
        return try TargetStandardization(mean: decoded.mean, std: decoded.std)   // re-check values
    }
}
