import Foundation
import NN
import Tensor
import XCTest

/// Each layer against PyTorch (Fixtures/*.safetensors from tools/make_golden.py): outputs within
/// 1e-4 and gradients (of sum(y · grad_y)) within 1e-3, normwise relative.
final class LayerGoldenTests: XCTestCase {
    let outTol = 1e-4, gradTol = 1e-3

    private func run(_ file: SafetensorsFile, training: Bool = true,
                     _ op: (Variable, ComputeContext) throws -> Variable) throws -> Variable {
        let tape = Tape()
        let ctx = ComputeContext(tape: tape, training: training, threads: 2)
        let x = Variable(try file.tensor32("x"), requiresGrad: true, name: "x")
        let y = try op(x, ctx)
        assertClose(y.value, try file.tensor32("y"), rtol: outTol, "output")
        try tape.backward(y, seed: try file.tensor32("grad_y"))
        assertClose(x.grad!, try file.tensor32("grad_x"), rtol: gradTol, "grad_x")
        return x
    }

    private func param(_ file: SafetensorsFile, _ name: String) throws -> Variable {
        Variable(try file.tensor32(name), requiresGrad: true, name: name)
    }

    func testConv3dCases() throws {
        for name in ["conv3d_k3_s2_p1_bias_odd", "conv3d_k3_s1_p1_nobias", "conv3d_k7_s2_p3_nobias", "conv3d_k1_s2_p0_nobias"] {
            let f = try Fixture.load(name)
            let stride = Int(f.metadata["stride"]!)!, padding = Int(f.metadata["padding"]!)!
            let w = try param(f, "weight")
            let b = f.tensors["bias"] != nil ? try param(f, "bias") : nil
            _ = try run(f) { x, ctx in try F.conv3d(x, weight: w, bias: b, stride: Size3(stride), padding: Size3(padding), ctx) }
            assertClose(w.grad!, try f.tensor32("grad_weight"), rtol: gradTol, "\(name) grad_weight")
            if let b { assertClose(b.grad!, try f.tensor32("grad_bias"), rtol: gradTol, "\(name) grad_bias") }
        }
    }

    func testConvTranspose3d() throws {
        let f = try Fixture.load("conv_transpose3d_k4_s2_p1")
        let w = try param(f, "weight"), b = try param(f, "bias")
        _ = try run(f) { x, ctx in try F.convTranspose3d(x, weight: w, bias: b, stride: 2, padding: 1, ctx) }
        assertClose(w.grad!, try f.tensor32("grad_weight"), rtol: gradTol, "grad_weight")
        assertClose(b.grad!, try f.tensor32("grad_bias"), rtol: gradTol, "grad_bias")
    }

    func testBatchNormTrainAndEval() throws {
        for (name, training) in [("batchnorm3d_train", true), ("batchnorm3d_eval", false)] {
            let f = try Fixture.load(name)
            let w = try param(f, "weight"), b = try param(f, "bias")
            let state = BatchNormState(channels: 3)
            state.runningMean = try f.tensor32("running_mean")
            state.runningVar = try f.tensor32("running_var")
            state.numBatchesTracked = try f.tensor("num_batches_tracked").int64s()[0]
            _ = try run(f, training: training) { x, ctx in try F.batchNorm(x, weight: w, bias: b, state: state, ctx) }
            assertClose(w.grad!, try f.tensor32("grad_weight"), rtol: gradTol, "\(name) grad_weight")
            assertClose(b.grad!, try f.tensor32("grad_bias"), rtol: gradTol, "\(name) grad_bias")
            assertClose(state.runningMean, try f.tensor32("running_mean_after"), rtol: outTol, "\(name) running_mean")
            assertClose(state.runningVar, try f.tensor32("running_var_after"), rtol: outTol, "\(name) running_var")
            XCTAssertEqual(state.numBatchesTracked, try f.tensor("num_batches_tracked_after").int64s()[0], name)
        }
    }

    func testMaxPool() throws {
        let f = try Fixture.load("maxpool3d_k3_s2_p1")
        _ = try run(f) { x, ctx in try F.maxPool3d(x, kernel: 3, stride: 2, padding: 1, ctx) }
    }

    func testTrilinearResizeUpAndDown() throws {
        for (name, size) in [("trilinear_5x6x7_to_8x8x8", Size3(8)), ("trilinear_8x8x8_to_5x6x7", Size3(5, 6, 7))] {
            let f = try Fixture.load(name)
            _ = try run(f) { x, ctx in try F.trilinearResize(x, size: size, ctx) }
        }
    }

    func testLinear() throws {
        let f = try Fixture.load("linear_7x5")
        let w = try param(f, "weight"), b = try param(f, "bias")
        _ = try run(f) { x, ctx in try F.linear(x, weight: w, bias: b, ctx) }
        assertClose(w.grad!, try f.tensor32("grad_weight"), rtol: gradTol, "grad_weight")
        assertClose(b.grad!, try f.tensor32("grad_bias"), rtol: gradTol, "grad_bias")
    }

    func testSpatialAttentionBlockThroughTheModelsLayer() throws {
        let f = try Fixture.load("spatial_attention_c16")
        let registry = ParameterRegistry()
        let att = SpatialAttention(ParameterScope(registry: registry, key: RandomKey(seed: 1)), 16)
        XCTAssertEqual(registry.stateNames, ["0.weight", "0.bias", "2.weight", "2.bias"])
        // the fixture also holds x, y and gradients: a strict load must refuse it …
        XCTAssertThrowsError(try registry.loadStateDict(f))
        // … and accept exactly the four parameters
        var params = SafetensorsFile()
        for n in registry.stateNames { params[n] = f[n] }
        try registry.loadStateDict(params)
        _ = try run(f) { x, ctx in try att(x, ctx) }
        for (name, v) in registry.parameters {
            assertClose(v.grad!, try f.tensor32("grad_" + name), rtol: gradTol, "grad \(name)")
        }
    }
}
