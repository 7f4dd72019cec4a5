import XCTest
import Tensor

/// Tape behaviour: accumulation, evaluation without a graph, checkpointing, determinism.
final class AutogradTests: XCTestCase {
    /// A small stack of conv–BN–ReLU blocks, each optionally checkpointed.
    struct Stack {
        var weights: [Variable]
        var gammas: [Variable]
        var betas: [Variable]
        var states: [BatchNormState]

        init(depth: Int, channels: Int) {
            weights = (0..<depth).map { Variable(Check.random([channels, channels, 3, 3, 3], UInt64(300 + $0), scale: 0.2), requiresGrad: true) }
            gammas = (0..<depth).map { _ in Variable(Tensor(shape: [channels], repeating: 1), requiresGrad: true) }
            betas = (0..<depth).map { _ in Variable(Tensor(shape: [channels]), requiresGrad: true) }
            states = (0..<depth).map { _ in BatchNormState(channels: channels) }
        }

        func block(_ i: Int, _ x: Variable, _ ctx: ComputeContext) throws -> Variable {
            let c = try F.conv3d(x, weight: weights[i], bias: nil, padding: 1, ctx)
            let b = try F.batchNorm(c, weight: gammas[i], bias: betas[i], state: states[i], ctx)
            return try F.dropout(F.sigmoid(b, ctx), p: 0.1, key: RandomKey(seed: 1, stream: UInt64(i)), ctx)
        }

        func forward(_ x: Variable, checkpointed: Bool, _ ctx: ComputeContext) throws -> Variable {
            var h = x
            for i in weights.indices {
                h = checkpointed ? try F.checkpoint([h], ctx) { v, c in try block(i, v[0], c) } : try block(i, h, ctx)
            }
            return F.mean(F.square(h, ctx), ctx)
        }

        var parameters: [Variable] { weights + gammas + betas }
    }

    func testCheckpointingGivesSameGradientsAndSavesMemory() throws {
        let x = Check.random([2, 4, 8, 8, 8], 310)
        var results: [[Tensor]] = []
        var peaks: [Int] = []
        var running: [Tensor] = []
        for checkpointed in [false, true] {
            let s = Stack(depth: 4, channels: 4)
            let tape = Tape()
            let loss = try s.forward(Variable(x, requiresGrad: true), checkpointed: checkpointed, .training(tape))
            try tape.backward(loss)
            results.append(s.parameters.map { $0.grad! })
            peaks.append(tape.peakSavedFloats)
            running.append(s.states[2].runningMean)
            XCTAssertEqual(s.states[0].numBatchesTracked, 1, "recompute must not update running statistics again")
        }
        for (a, b) in zip(results[0], results[1]) { XCTAssertEqual(a, b) }   // bit-identical: same kernels, same order
        XCTAssertEqual(running[0], running[1])
        XCTAssertLessThan(Double(peaks[1]), 0.6 * Double(peaks[0]), "peak saved floats \(peaks)")
    }

    func testGradientsAccumulateUntilZeroed() throws {
        let w = Variable(Check.random([3, 4], 320), requiresGrad: true)
        let x = Variable(Check.random([2, 4], 321))
        func step() throws -> Tensor {
            let tape = Tape()
            try tape.backward(F.sum(try F.linear(x, weight: w, bias: nil, .training(tape)), .training(tape)))
            return w.grad!
        }
        let once = try step()
        let twice = try step()
        for i in 0..<once.count { XCTAssertEqual(twice[flat: i], 2 * once[flat: i], accuracy: 1e-6) }
        w.zeroGrad()
        XCTAssertNil(w.grad)
        XCTAssertEqual(try step(), once)
    }

    func testEvaluationBuildsNoGraph() throws {
        let tape = Tape()
        let w = Variable(Check.random([2, 2, 3, 3, 3], 330), requiresGrad: true)
        var ctx = ComputeContext.evaluation()
        let y = try F.conv3d(Variable(Check.random([1, 2, 4, 4, 4], 331)), weight: w, bias: nil, padding: 1, ctx)
        XCTAssertFalse(y.requiresGrad)
        XCTAssertEqual(tape.recordCount, 0)
        ctx.tape = tape
        _ = try F.conv3d(Variable(Check.random([1, 2, 4, 4, 4], 331)), weight: w, bias: nil, padding: 1, ctx)
        XCTAssertEqual(tape.recordCount, 1)
        // Operations on constants only record nothing even with a tape.
        _ = F.relu(Variable(Tensor(shape: [3])), ctx)
        XCTAssertEqual(tape.recordCount, 1)
    }

    /// Same seed → bit-identical loss and gradients at a fixed thread count; the forward pass is
    /// also identical across thread counts (per-element work does not depend on the partition),
    /// weight gradients may differ in the last bits (per-thread partial sums).
    func testDeterminism() throws {
        let x = Check.random([4, 4, 8, 8, 8], 340)
        func run(threads: Int) throws -> (Float, [Tensor], Tensor) {
            let s = Stack(depth: 2, channels: 4)
            let tape = Tape()
            let ctx = ComputeContext.training(tape, threads: threads)
            let input = Variable(x, requiresGrad: true)
            let loss = try s.forward(input, checkpointed: false, ctx)
            try tape.backward(loss)
            return (loss.value[flat: 0], s.parameters.map { $0.grad! }, input.grad!)
        }
        let a = try run(threads: 2), b = try run(threads: 2)
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertEqual(a.2, b.2)
        let c = try run(threads: 1)
        XCTAssertEqual(a.0, c.0, "forward (loss) is identical across thread counts")
        XCTAssertEqual(a.2, c.2, "data gradients are identical across thread counts")
        for (g2, g1) in zip(a.1, c.1) { Check.close(g2, g1, tol: 1e-5, "weight gradients across thread counts") }
    }
}
