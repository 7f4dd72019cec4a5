/// Linear layer y = x·Wᵀ + b with x [N, in], W [out, in] (PyTorch's layout), b [out].
public enum LinearKernel {
    static func check(_ x: [Int], _ w: [Int], _ b: [Int]?) throws {
        guard x.count == 2, w.count == 2, x[1] == w[1] else {
            throw TensorError.shapeMismatch(op: "linear", shapes: [x, w], reason: "input must be [N, in] and weight [out, in] with equal in")
        }
        if let b, b != [w[0]] {
            throw TensorError.shapeMismatch(op: "linear", shapes: [w, b], reason: "bias must be [out]")
        }
    }

    public static func forward(_ x: Tensor, weight w: Tensor, bias: Tensor?, threads: Int = 1) throws -> Tensor {
        try check(x.shape, w.shape, bias?.shape)
        let (N, I, O) = (x.shape[0], x.shape[1], w.shape[0])
        var y = Tensor(shape: [N, O])
        if let bias { y.withUnsafeMutableBufferPointer { yp in for n in 0..<N { for o in 0..<O { yp[n * O + o] = bias[flat: o] } } } }
        _ = Parallel.plan(work: 0, threads: threads)
        x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
            Gemm.gemm(transA: false, transB: true, m: N, n: O, k: I, a: xp.baseAddress!, lda: I, b: wp.baseAddress!, ldb: I,
                      beta: bias == nil ? 0 : 1, c: yp.baseAddress!, ldc: O)
        } } }
        return y
    }

    /// (dx [N, in], dW [out, in], db [out]).
    public static func backward(_ dy: Tensor, input x: Tensor, weight w: Tensor, threads: Int = 1) throws -> (input: Tensor, weight: Tensor, bias: Tensor) {
        try check(x.shape, w.shape, nil)
        let (N, I, O) = (x.shape[0], x.shape[1], w.shape[0])
        guard dy.shape == [N, O] else { throw TensorError.shapeMismatch(op: "linear backward", shapes: [dy.shape, [N, O]], reason: "gradient must be [N, out]") }
        var dx = Tensor(shape: [N, I]), dw = Tensor(shape: [O, I])
        _ = Parallel.plan(work: 0, threads: threads)
        dy.withUnsafeBufferPointer { gp in x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in
            dx.withUnsafeMutableBufferPointer { dxp in
                Gemm.gemm(transA: false, transB: false, m: N, n: I, k: O, a: gp.baseAddress!, lda: O, b: wp.baseAddress!, ldb: I, beta: 0, c: dxp.baseAddress!, ldc: I)
            }
            dw.withUnsafeMutableBufferPointer { dwp in
                Gemm.gemm(transA: true, transB: false, m: O, n: I, k: N, a: gp.baseAddress!, lda: O, b: xp.baseAddress!, ldb: I, beta: 0, c: dwp.baseAddress!, ldc: I)
            }
        } } }
        let db = try dy.sum(axes: [0])
        return (dx, dw, db)
    }
}
