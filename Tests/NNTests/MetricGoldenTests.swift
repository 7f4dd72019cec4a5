import Foundation
import NN
import Tensor
import XCTest

/// SSIM against scikit-image's structural_similarity; RMSE / PSNR against NumPy.
final class MetricGoldenTests: XCTestCase {
    func testSSIMMatchesScikitImage() throws {
        let f = try Fixture.load("ssim_skimage_gaussian_s1.5")
        let count = Int(f.metadata["count"]!)!
        XCTAssertGreaterThanOrEqual(count, 4)
        for i in 0..<count {
            let x = try f.tensor32("x\(i)"), y = try f.tensor32("y\(i)")
            let range = try f.scalar("data_range\(i)")
            let expected = try f.scalar("ssim\(i)")

            // metric (Double)
            var acc = MetricAccumulator(dataRange: range)
            try acc.add(prediction: x, target: y)
            XCTAssertEqual(acc.result().ssim, expected, accuracy: 1e-4, "metric case \(i)")
            let perVolume = try f.doubles("ssim_per_volume\(i)")
            let c = x.shape[1]
            for ch in 0..<c {
                let ref = stride(from: ch, to: perVolume.count, by: c).map { perVolume[$0] }.reduce(0, +) / Double(perVolume.count / c)
                XCTAssertEqual(acc.result().ssimPerChannel[ch], ref, accuracy: 1e-4, "case \(i) channel \(ch)")
            }

            // loss (Float32 on the autograd tape) and its gradient
            let tape = Tape()
            let xv = Variable(x, requiresGrad: true)
            let s = try Losses.ssim(xv, Variable(y), dataRange: range, .training(tape))
            XCTAssertEqual(Double(s.value[flat: 0]), expected, accuracy: 1e-4, "loss case \(i)")
            try tape.backward(s)
            assertClose(xv.grad!, try f.tensor32("grad_x\(i)"), rtol: 1e-3, "SSIM gradient case \(i)")
        }
    }

    func testSSIMOfIdenticalVolumesIsOneAndRejectsSmallVolumes() throws {
        let x = Tensor.uniform(shape: [1, 1, 12, 12, 12], key: RandomKey(seed: 1))
        var acc = MetricAccumulator()
        try acc.add(prediction: x, target: x)
        XCTAssertEqual(acc.result().ssim, 1, accuracy: 1e-12)
        let small = Tensor(shape: [1, 1, 10, 12, 12])
        XCTAssertThrowsError(try Losses.ssim(Variable(small), Variable(small), .evaluation()))
        var acc2 = MetricAccumulator()
        XCTAssertThrowsError(try acc2.add(prediction: small, target: small))
    }

    func testRMSEAndPSNRMatchNumPy() throws {
        let f = try Fixture.load("rmse_psnr")
        let p = try f.tensor32("prediction"), t = try f.tensor32("target")
        var acc = MetricAccumulator(dataRange: 1, ssim: false)
        // two batches of one sample each: accumulation must equal the whole
        try acc.add(prediction: p.batchSlice(0..<1), target: t.batchSlice(0..<1))
        try acc.add(prediction: p.batchSlice(1..<2), target: t.batchSlice(1..<2))
        let m = acc.result()
        XCTAssertEqual(m.rmse, try f.scalar("rmse"), accuracy: 1e-9)
        let perChannel = try f.doubles("rmse_per_channel")
        for c in 0..<2 { XCTAssertEqual(m.rmsePerChannel[c], perChannel[c], accuracy: 1e-9) }
        XCTAssertEqual(m.psnr, try f.scalar("psnr_range1"), accuracy: 1e-7)
        XCTAssertEqual(m.volumes, 2)

        let ctx = ComputeContext.evaluation()
        let plain = try Losses.weightedRMSE(Variable(p), Variable(t), ctx)
        XCTAssertEqual(Double(plain.value[flat: 0]), try f.scalar("rmse"), accuracy: 1e-6)
        let weighted = try Losses.weightedRMSE(Variable(p), Variable(t), channelWeights: [2, 1], ctx)
        XCTAssertEqual(Double(weighted.value[flat: 0]), try f.scalar("weighted_rmse_2_1"), accuracy: 1e-6)
        XCTAssertThrowsError(try Losses.weightedRMSE(Variable(p), Variable(t), channelWeights: [1], ctx))
        XCTAssertThrowsError(try Losses.weightedRMSE(Variable(p), Variable(t.batchSlice(0..<1)), ctx))
    }

    func testReferenceResultPairsRMSEAndPSNR() {
        // DESIGN.md: RMSE 0.083 at data range 1 ↔ 21.6 dB
        XCTAssertEqual(20 * log10(1 / 0.083), 21.6, accuracy: 0.05)
    }
}
