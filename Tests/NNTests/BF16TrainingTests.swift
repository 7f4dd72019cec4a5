import Foundation
import NN
import Tensor
import XCTest

/// Mixed-precision training (`precision: .bf16`: bf16 convolution arithmetic, fp32 master weights,
/// gradients, BatchNorm and optimizer) learns like fp32 on a tiny model.
final class BF16TrainingTests: XCTestCase {
    /// A smooth blob per sample plus noise in μa/μs′-like ranges (as TrainingSmokeTests).
    func batch() -> Tensor {
        let n = 32
        var x = Tensor.uniform(shape: [2, 2, n, n, n], low: 0, high: 0.05, key: RandomKey(seed: 42))
        for s in 0..<2 { for c in 0..<2 {
            let scale: Float = c == 0 ? 0.01 : 1.0
            for d in 0..<n { for h in 0..<n { for w in 0..<n {
                let r2 = Float((d - 16 + 4 * s) * (d - 16 + 4 * s) + (h - 16) * (h - 16) + (w - 14) * (w - 14))
                x[flat: (((s * 2 + c) * n + d) * n + h) * n + w] += scale * (r2 < 100 ? 1 : 0.3)
            } } }
        } }
        return x
    }

    func losses(_ precision: Precision, threads: Int = 2, steps: Int = 8) throws -> [Double] {
        let model = try Stage1Model(Stage1Config(baseChannels: 4, latentDim: 16, dropoutRate: 0, inputSize: 32), seed: 7)
        let trainer = try Stage1Trainer(model: model, loss: LossSpec(terms: [.rmse: 0.7, .ssim: 0.3]),
                                        optimizer: AdamW(AdamWSettings(beta1: 0.9, beta2: 0.98)),
                                        scheduler: LRScheduler(.constant, baseLR: 3e-3, totalSteps: steps),
                                        clipNorm: 5, threads: threads, precision: precision)
        let x = batch()
        return try (0..<steps).map { s in
            try trainer.step([(x, x)], epoch: 0, dropoutKey: RandomKey(seed: 1, stream: UInt64(s))).loss
        }
    }

    func testBF16TrainsLikeFP32() throws {
        let f32 = try losses(.fp32), b16 = try losses(.bf16)
        XCTAssertTrue(b16.allSatisfy(\.isFinite), "\(b16)")
        XCTAssertLessThan(b16.last!, b16.first! * 0.9, "bf16 losses \(b16)")
        // Same weights at step 0: only the bf16 arithmetic differs (documented: < 1% relative).
        XCTAssertLessThan(abs(b16[0] - f32[0]) / f32[0], 1e-2, "first loss fp32 \(f32[0]) bf16 \(b16[0])")
        XCTAssertNotEqual(b16[0], f32[0], "bf16 gave fp32's exact loss: precision not applied")
        // After 8 AdamW steps the trajectories may drift apart a little (documented: < 5% relative).
        for (a, b) in zip(f32, b16) { XCTAssertLessThan(abs(a - b) / a, 5e-2, "fp32 \(f32) bf16 \(b16)") }
    }

    func testBF16IsDeterministicAcrossThreadCounts() throws {
        // The bf16 GEMM splits columns across threads; weight gradients reduce in a fixed order.
        XCTAssertEqual(try losses(.bf16, threads: 1, steps: 2), try losses(.bf16, threads: 2, steps: 2))
    }
}
