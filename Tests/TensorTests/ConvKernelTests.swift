import XCTest
import Tensor

/// Fast (tiled vol2col + GEMM) convolution kernels against their naive twins, and the layers'
/// gradients against finite differences.
final class ConvKernelTests: XCTestCase {
    struct Case { var n, cin, cout: Int; var size: Size3; var k: Size3; var s: Size3; var p: Size3 }

    let cases: [Case] = [
        Case(n: 2, cin: 3, cout: 4, size: Size3(5, 6, 7), k: 3, s: 1, p: 1),
        Case(n: 1, cin: 2, cout: 3, size: Size3(7, 5, 9), k: 3, s: 2, p: 1),
        Case(n: 3, cin: 2, cout: 2, size: Size3(9, 9, 9), k: 7, s: 2, p: 3),
        Case(n: 2, cin: 4, cout: 3, size: Size3(4, 5, 6), k: 1, s: 1, p: 0),
        Case(n: 2, cin: 3, cout: 5, size: Size3(5, 4, 7), k: 1, s: 2, p: 0),
        Case(n: 1, cin: 2, cout: 2, size: Size3(6, 7, 5), k: Size3(2, 3, 4), s: Size3(1, 2, 3), p: Size3(0, 1, 2)),
        Case(n: 2, cin: 1, cout: 2, size: Size3(3, 3, 3), k: 3, s: 3, p: 0),
        // few output channels, stride 1: the direct kernel (rows longer than 16, odd tails)
        Case(n: 3, cin: 5, cout: 2, size: Size3(4, 3, 37), k: 3, s: 1, p: 1),
        Case(n: 1, cin: 3, cout: 1, size: Size3(5, 4, 9), k: Size3(3, 1, 5), s: 1, p: Size3(1, 0, 2)),
        Case(n: 2, cin: 2, cout: 3, size: Size3(4, 5, 6), k: Size3(2, 3, 2), s: 1, p: 0),
        // vol2col rows of several 16-wide vectors with padded edges, stride 1 and 2
        Case(n: 1, cin: 2, cout: 6, size: Size3(3, 3, 35), k: 3, s: 1, p: 1),
        Case(n: 1, cin: 2, cout: 5, size: Size3(3, 4, 70), k: Size3(3, 3, 7), s: 2, p: Size3(1, 1, 3)),
        // stride 2 everywhere, many output channels: the strided direct kernel (as the encoder's first layer)
        Case(n: 2, cin: 2, cout: 8, size: Size3(5, 6, 64), k: 7, s: 2, p: 3),
        Case(n: 1, cin: 3, cout: 16, size: Size3(4, 3, 32), k: Size3(3, 2, 4), s: 2, p: Size3(1, 0, 1)),
    ]

    func testConv3dMatchesNaiveTwin() throws {
        try Check.forEachLoopPath { path in
            for (i, c) in cases.enumerated() {
                for threads in [1, 2] {
                    let x = Check.random([c.n, c.cin] + c.size.array, UInt64(10 * i))
                    let w = Check.random([c.cout, c.cin] + c.k.array, UInt64(10 * i + 1))
                    let b = Check.random([c.cout], UInt64(10 * i + 2))
                    let g = try Conv3dGeometry(input: x.shape, weight: w.shape, stride: c.s, padding: c.p)
                    let y = try Conv3dKernel.forward(x, weight: w, bias: b, geometry: g, threads: threads)
                    Check.close(y, Conv3dReference.forward(x, weight: w, bias: b, geometry: g), "forward case \(i) \(path)")
                    let dy = Check.random(g.outputShape, UInt64(10 * i + 3))
                    let dx = try Conv3dKernel.backwardData(dy, weight: w, geometry: g, threads: threads)
                    Check.close(dx, Conv3dReference.backwardData(dy, weight: w, geometry: g), "backward data case \(i) \(path)")
                    let dw = try Conv3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: threads)
                    let ref = Conv3dReference.backwardWeight(x, outputGradient: dy, geometry: g)
                    Check.close(dw.weight, ref.weight, "backward weight case \(i) \(path)")
                    Check.close(dw.bias, ref.bias, "backward bias case \(i) \(path)")
                }
            }
        }
    }

    /// The direct kernel's AVX-512F loops and its portable Swift loops both match the naive twin, on
    /// rows of one to four 16-wide vectors, longer than 64 and with odd tails.
    func testDirectConvolutionBothPathsMatchNaiveTwin() throws {
        let direct = [
            Case(n: 2, cin: 3, cout: 2, size: Size3(3, 4, 64), k: 3, s: 1, p: 1),
            Case(n: 1, cin: 2, cout: 3, size: Size3(3, 3, 70), k: 3, s: 1, p: 1),
            Case(n: 2, cin: 4, cout: 1, size: Size3(2, 3, 48), k: Size3(1, 3, 5), s: 1, p: Size3(0, 1, 2)),
            Case(n: 3, cin: 5, cout: 2, size: Size3(4, 3, 37), k: 3, s: 1, p: 1),
        ]
        try Check.forEachLoopPath { path in
            for (i, c) in direct.enumerated() {
                let x = Check.random([c.n, c.cin] + c.size.array, UInt64(300 + 10 * i))
                let w = Check.random([c.cout, c.cin] + c.k.array, UInt64(301 + 10 * i))
                let g = try Conv3dGeometry(input: x.shape, weight: w.shape, stride: c.s, padding: c.p)
                let label = "case \(i) \(path)"
                Check.close(try Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: 2),
                            Conv3dReference.forward(x, weight: w, bias: nil, geometry: g), "forward \(label)")
                let dy = Check.random(g.outputShape, UInt64(302 + 10 * i))
                Check.close(try Conv3dKernel.backwardData(dy, weight: w, geometry: g, threads: 2),
                            Conv3dReference.backwardData(dy, weight: w, geometry: g), "backward data \(label)")
                Check.close(try Conv3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: 2).weight,
                            Conv3dReference.backwardWeight(x, outputGradient: dy, geometry: g).weight, "backward weight \(label)")
            }
        }
    }

    /// A volume whose vol2col does not fit one tile: several tiles per sample.
    func testConv3dAcrossManyTiles() throws {
        let x = Check.random([1, 16, 12, 20, 24], 50)
        let w = Check.random([3, 16, 3, 3, 3], 51, scale: 0.2)
        let g = try Conv3dGeometry(input: x.shape, weight: w.shape, stride: 1, padding: 1)
        XCTAssertGreaterThan(g.patchSize * g.outSize.volume, 1 << 19)   // more than one tile
        Check.close(try Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, threads: 2),
                    Conv3dReference.forward(x, weight: w, bias: nil, geometry: g), "forward")
        let dy = Check.random(g.outputShape, 52)
        Check.close(try Conv3dKernel.backwardData(dy, weight: w, geometry: g, threads: 2),
                    Conv3dReference.backwardData(dy, weight: w, geometry: g), "backward data")
    }

    func testConvTranspose3dMatchesNaiveTwin() throws {
        let tcases: [(n: Int, cin: Int, cout: Int, size: Size3, k: Size3, s: Size3, p: Size3, op: Size3)] = [
            (2, 3, 2, Size3(3, 4, 5), 4, 2, 1, 0),
            (1, 2, 3, Size3(4, 3, 3), 3, 2, 1, 1),
            (2, 2, 2, Size3(3, 3, 3), 3, 1, 1, 0),
            (1, 3, 2, Size3(2, 3, 4), Size3(2, 3, 4), Size3(1, 2, 3), Size3(0, 1, 2), Size3(0, 1, 2)),
            (2, 2, 3, Size3(3, 2, 3), Size3(1, 2, 2), Size3(2, 3, 2), Size3(0, 1, 0), Size3(1, 0, 0)),   // kernel < stride on some axes
            // the decoder's k4 s2 p1 with rows of 1, 2 and 3 vectors (the direct AVX-512F kernel)
            (1, 3, 4, Size3(3, 2, 16), 4, 2, 1, 0),
            (2, 2, 8, Size3(2, 3, 32), 4, 2, 1, 0),
            (1, 2, 4, Size3(2, 2, 48), 4, 2, 1, 0),
            (1, 8, 4, Size3(2, 3, 48), 4, 2, 1, 0),   // and its data gradient (Cin a multiple of 8)
            (2, 16, 4, Size3(3, 2, 16), 4, 2, 1, 0),
            (1, 8, 8, Size3(2, 2, 32), 4, 2, 1, 0),
        ]
        try Check.forEachLoopPath { path in
            for (i, c) in tcases.enumerated() {
                let x = Check.random([c.n, c.cin] + c.size.array, UInt64(100 + 10 * i))
                let w = Check.random([c.cin, c.cout] + c.k.array, UInt64(101 + 10 * i))
                let b = Check.random([c.cout], UInt64(102 + 10 * i))
                let g = try ConvTranspose3dGeometry(input: x.shape, weight: w.shape, stride: c.s, padding: c.p, outputPadding: c.op)
                for threads in [1, 2] {
                    let y = try ConvTranspose3dKernel.forward(x, weight: w, bias: b, geometry: g, threads: threads)
                    let yRef = ConvTranspose3dReference.forward(x, weight: w, bias: b, geometry: g)
                    Check.close(y, yRef, "forward case \(i) \(path)")
                    var adj = try ConvTranspose3dKernel.forwardByAdjoint(x, weight: w, geometry: g, threads: threads)
                    adj = try Tensor.binary(adj, try b.reshaped([1, c.cout, 1, 1, 1]), .add)
                    Check.close(adj, yRef, "adjoint forward case \(i) \(path)")
                    if c.k.d >= c.s.d && c.k.h >= c.s.h && c.k.w >= c.s.w {
                        var phased = try ConvTranspose3dKernel.forwardByPhases(x, weight: w, geometry: g, threads: threads)
                        phased = try Tensor.binary(phased, try b.reshaped([1, c.cout, 1, 1, 1]), .add)
                        Check.close(phased, yRef, "phase forward case \(i) \(path)")
                    }
                    let dy = Check.random(g.outputShape, UInt64(103 + 10 * i))
                    Check.close(try ConvTranspose3dKernel.backwardData(dy, weight: w, geometry: g, threads: threads),
                                ConvTranspose3dReference.backwardData(dy, weight: w, geometry: g), "backward data case \(i) \(path)")
                    let dw = try ConvTranspose3dKernel.backwardWeight(x, outputGradient: dy, geometry: g, threads: threads)
                    let ref = ConvTranspose3dReference.backwardWeight(x, outputGradient: dy, geometry: g)
                    Check.close(dw.weight, ref.weight, "backward weight case \(i) \(path)")
                    Check.close(dw.bias, ref.bias, "backward bias case \(i) \(path)")
                }
            }
        }
    }

    func testConvTransposeOutputSizeAsPyTorch() throws {
        // k4 s2 p1 doubles the size (the decoder's upsampling).
        let g = try ConvTranspose3dGeometry(input: [1, 8, 5, 6, 7], weight: [8, 4, 4, 4, 4], stride: 2, padding: 1)
        XCTAssertEqual(g.outputShape, [1, 4, 10, 12, 14])
        let c = try Conv3dGeometry(input: [1, 2, 64, 64, 64], weight: [16, 2, 7, 7, 7], stride: 2, padding: 3)
        XCTAssertEqual(c.outputShape, [1, 16, 32, 32, 32])
    }

    func testConv3dGradientsFiniteDifferences() throws {
        for c in [cases[0], cases[1], cases[5]] {
            let x = Check.random([c.n, c.cin] + c.size.array, 200)
            let w = Check.random([c.cout, c.cin] + c.k.array, 201)
            let b = Check.random([c.cout], 202)
            try Check.gradients([x, w, b]) { v, ctx in
                try F.conv3d(v[0], weight: v[1], bias: v[2], stride: c.s, padding: c.p, ctx)
            }
        }
    }

    func testConvTranspose3dGradientsFiniteDifferences() throws {
        let x = Check.random([2, 3, 3, 2, 3], 210)
        let w = Check.random([3, 2, 4, 4, 4], 211)
        let b = Check.random([2], 212)
        try Check.gradients([x, w, b]) { v, ctx in
            try F.convTranspose3d(v[0], weight: v[1], bias: v[2], stride: 2, padding: 1, ctx)
        }
        let x2 = Check.random([1, 2, 3, 4, 3], 213)
        let w2 = Check.random([2, 3, 3, 2, 3], 214)
        try Check.gradients([x2, w2]) { v, ctx in
            try F.convTranspose3d(v[0], weight: v[1], bias: nil, stride: Size3(2, 1, 3), padding: Size3(1, 0, 1), outputPadding: Size3(1, 0, 2), ctx)
        }
    }

    /// bf16 arithmetic (sbgemm) stays close to fp32 on a model-sized layer.
    func testBF16ConvolutionIsCloseToFP32() throws {
        let x = Check.random([1, 16, 16, 16, 16], 220)
        let w = Check.random([16, 16, 3, 3, 3], 221, scale: 0.1)
        let g = try Conv3dGeometry(input: x.shape, weight: w.shape, stride: 1, padding: 1)
        let y32 = try Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g)
        let y16 = try Conv3dKernel.forward(x, weight: w, bias: nil, geometry: g, precision: .bf16)
        var num = 0.0, den = 0.0
        for i in 0..<y32.count { num += Double(y16[flat: i] - y32[flat: i]) * Double(y16[flat: i] - y32[flat: i]); den += Double(y32[flat: i] * y32[flat: i]) }
        let rel = (num / den).squareRoot()
        XCTAssertLessThan(rel, 1e-2)          // bf16 has 8 mantissa bits: ~0.3% per operand
        XCTAssertGreaterThan(rel, 1e-6)       // and it really is reduced precision, not fp32
    }
}
