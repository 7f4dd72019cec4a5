import XCTest
import Tensor

/// Bad input is a typed error naming the operation and the shapes — never a crash.
final class BadInputTests: XCTestCase {
    func expectShapeMismatch(_ op: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            guard case let .shapeMismatch(name, shapes, _) = e as? TensorError else { return XCTFail("got \(e)", file: file, line: line) }
            XCTAssertTrue(name.hasPrefix(op), "\(name)", file: file, line: line)
            XCTAssertFalse(shapes.isEmpty, file: file, line: line)
        }
    }

    /// NaN and ±Inf are found wherever they sit (first element, inside a vector, the tail, a later
    /// block); extreme finite values, −0 and subnormals are finite.
    func testIsFiniteFindsEveryNonFiniteValue() throws {
        let count = 2 * 4096 + 37
        var finite = [Float](repeating: 1, count: count)
        finite[3] = .greatestFiniteMagnitude; finite[70] = -.greatestFiniteMagnitude
        finite[100] = -0.0; finite[101] = .leastNonzeroMagnitude
        XCTAssertTrue(try Tensor(shape: [count], storage: finite).isFinite)
        XCTAssertTrue(Tensor(shape: [0]).isFinite)
        for position in [0, 5, 4095, 4096, 8200, count - 1] {
            for bad in [Float.nan, .infinity, -.infinity] {
                var values = finite
                values[position] = bad
                XCTAssertFalse(try Tensor(shape: [count], storage: values).isFinite, "\(bad) at \(position)")
            }
        }
    }

    func testShapeMismatches() {
        let ctx = ComputeContext.evaluation()
        let x = Variable(Tensor(shape: [1, 3, 4, 4, 4]))
        expectShapeMismatch("conv3d") { _ = try F.conv3d(x, weight: Variable(Tensor(shape: [2, 2, 3, 3, 3])), bias: nil, ctx) }
        expectShapeMismatch("conv3d") { _ = try F.conv3d(Variable(Tensor(shape: [3, 4, 4])), weight: Variable(Tensor(shape: [2, 3, 3, 3, 3])), bias: nil, ctx) }
        expectShapeMismatch("conv3d") { _ = try F.conv3d(x, weight: Variable(Tensor(shape: [2, 3, 5, 5, 5])), bias: nil, ctx) }  // kernel larger than input
        expectShapeMismatch("conv3d") { _ = try F.conv3d(x, weight: Variable(Tensor(shape: [2, 3, 3, 3, 3])), bias: Variable(Tensor(shape: [3])), ctx) }
        expectShapeMismatch("convTranspose3d") { _ = try F.convTranspose3d(x, weight: Variable(Tensor(shape: [2, 2, 4, 4, 4])), bias: nil, stride: 2, padding: 1, ctx) }
        expectShapeMismatch("batchNorm") { _ = try F.batchNorm(x, weight: Variable(Tensor(shape: [2])), bias: Variable(Tensor(shape: [2])), state: BatchNormState(channels: 2), ctx) }
        expectShapeMismatch("linear") { _ = try F.linear(Variable(Tensor(shape: [2, 5])), weight: Variable(Tensor(shape: [3, 4])), bias: nil, ctx) }
        expectShapeMismatch("mul") { _ = try F.mul(x, Variable(Tensor(shape: [1, 2, 4, 4, 4])), ctx) }
        expectShapeMismatch("reshape") { _ = try F.reshape(x, [5, -1], ctx) }
        expectShapeMismatch("Tensor.init") { _ = try Tensor(shape: [2, 2], storage: [1, 2, 3]) }
        expectShapeMismatch("maxPool3d") { _ = try F.maxPool3d(Variable(Tensor(shape: [1, 1, 4, 4])), kernel: 3, stride: 2, ctx) }
        expectShapeMismatch("concatBatch") { _ = try Tensor.concatBatch([Tensor(shape: [1, 2]), Tensor(shape: [1, 3])]) }
    }

    func testInvalidArguments() {
        let ctx = ComputeContext(training: true)
        let x = Variable(Tensor(shape: [1, 2, 4, 4, 4]))
        let w = Variable(Tensor(shape: [2, 2, 3, 3, 3]))
        XCTAssertThrowsError(try F.conv3d(x, weight: w, bias: nil, stride: 0, ctx))
        XCTAssertThrowsError(try F.conv3d(x, weight: w, bias: nil, padding: -1, ctx))
        XCTAssertThrowsError(try F.convTranspose3d(x, weight: w, bias: nil, stride: 2, padding: 1, outputPadding: 2, ctx))
        XCTAssertThrowsError(try F.dropout(x, p: -0.1, key: RandomKey(seed: 0), ctx))
        XCTAssertThrowsError(try F.clamp(x, min: 1, max: 0, ctx))
        XCTAssertThrowsError(try x.value.batchSlice(0..<3))
        XCTAssertThrowsError(try x.value.permuted([0, 0, 1, 2, 3]))
    }

    func testNonFiniteInputLossAndGradient() throws {
        var bad = Tensor(shape: [1, 1, 2, 2, 2])
        bad[flat: 3] = .nan
        XCTAssertThrowsError(try bad.requireFinite(op: "model input")) { e in
            XCTAssertEqual(e as? TensorError, .nonFinite(op: "model input", what: "input", shape: [1, 1, 2, 2, 2]))
            XCTAssertTrue("\(e)".contains("model input"))
        }
        // A NaN loss stops backward before any gradient is accumulated.
        let w = Variable(Tensor(shape: [1, 1, 1, 1, 1], repeating: 1), requiresGrad: true)
        let tape = Tape()
        let loss = F.mean(try F.conv3d(Variable(bad), weight: w, bias: nil, .training(tape)), .training(tape))
        XCTAssertThrowsError(try tape.backward(loss)) { e in
            guard case .nonFinite(op: "backward", what: "loss", shape: _) = e as? TensorError else { return XCTFail("\(e)") }
        }
        XCTAssertNil(w.grad)
        // A non-finite gradient names the operation that produced it.
        let tape2 = Tape()
        let v = Variable(try Tensor(shape: [2], storage: [0, 1]), requiresGrad: true)
        let s = F.sum(F.sqrt(v, .training(tape2)), .training(tape2))   // d√x/dx at 0 = Inf
        XCTAssertThrowsError(try tape2.backward(s)) { e in
            guard case let .nonFinite(op, _, _) = e as? TensorError else { return XCTFail("\(e)") }
            XCTAssertEqual(op, "sqrt")
        }
    }
}
