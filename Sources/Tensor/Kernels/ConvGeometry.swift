/// Shapes of a 3D convolution in NCDHW: input [N, Cin, D, H, W], weight [Cout, Cin, kD, kH, kW],
/// output [N, Cout, D', H', W'] with D' = ⌊(D + 2p − k) / s⌋ + 1 per axis (PyTorch, dilation 1, groups 1).
public struct Conv3dGeometry: Equatable, Sendable {
    public let batch: Int
    public let inChannels: Int
    public let outChannels: Int
    public let inSize: Size3
    public let kernel: Size3
    public let stride: Size3
    public let padding: Size3
    public let outSize: Size3

    /// Validates a convolution of `input` by `weight`; throws a typed error naming `op` otherwise.
    public init(input: [Int], weight: [Int], stride: Size3, padding: Size3, op: String = "conv3d") throws {
        guard input.count == 5 else {
            throw TensorError.shapeMismatch(op: op, shapes: [input, weight], reason: "input must be [N, C, D, H, W]")
        }
        guard weight.count == 5 else {
            throw TensorError.shapeMismatch(op: op, shapes: [input, weight], reason: "weight must be [Cout, Cin, kD, kH, kW]")
        }
        guard input[1] == weight[1] else {
            throw TensorError.shapeMismatch(op: op, shapes: [input, weight],
                                            reason: "input channels \(input[1]) ≠ weight input channels \(weight[1])")
        }
        let k = Size3(weight[2], weight[3], weight[4])
        try self.init(batch: input[0], inChannels: input[1], outChannels: weight[0],
                      inSize: Size3(input[2], input[3], input[4]), kernel: k, stride: stride, padding: padding, op: op,
                      shapes: [input, weight])
    }

    /// Validates explicit sizes (the output size follows from the others).
    public init(batch: Int, inChannels: Int, outChannels: Int, inSize: Size3, kernel: Size3,
                stride: Size3, padding: Size3, op: String = "conv3d", shapes: [[Int]] = []) throws {
        guard batch >= 1, inChannels >= 1, outChannels >= 1, inSize.allPositive, kernel.allPositive else {
            throw TensorError.invalidArgument(op: op, reason: "empty dimension (batch \(batch), channels \(inChannels)→\(outChannels), size \(inSize), kernel \(kernel)) in \(shapes)")
        }
        guard stride.allPositive, padding.allNonNegative else {
            throw TensorError.invalidArgument(op: op, reason: "stride \(stride) must be ≥ 1 and padding \(padding) ≥ 0")
        }
        func out(_ n: Int, _ k: Int, _ s: Int, _ p: Int) -> Int { n + 2 * p < k ? 0 : (n + 2 * p - k) / s + 1 }
        let o = Size3(out(inSize.d, kernel.d, stride.d, padding.d), out(inSize.h, kernel.h, stride.h, padding.h),
                      out(inSize.w, kernel.w, stride.w, padding.w))
        guard o.allPositive else {
            throw TensorError.shapeMismatch(op: op, shapes: shapes.isEmpty ? [[batch, inChannels] + inSize.array] : shapes,
                                            reason: "kernel \(kernel) with padding \(padding) does not fit the input size \(inSize)")
        }
        guard padding.d < kernel.d, padding.h < kernel.h, padding.w < kernel.w else {
            throw TensorError.invalidArgument(op: op, reason: "padding \(padding) must be smaller than the kernel \(kernel)")
        }
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.inSize = inSize
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.outSize = o
    }

    /// A geometry with an explicit output size (used by the transposed convolution, whose output
    /// padding makes the conv input one larger than the formula's inverse).
    init(unchecked batch: Int, inChannels: Int, outChannels: Int, inSize: Size3, kernel: Size3, stride: Size3, padding: Size3, outSize: Size3) {
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.inSize = inSize
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.outSize = outSize
    }

    public var inputShape: [Int] { [batch, inChannels] + inSize.array }
    public var weightShape: [Int] { [outChannels, inChannels] + kernel.array }
    public var outputShape: [Int] { [batch, outChannels] + outSize.array }
    /// Columns of the GEMM's reduction axis: Cin·kD·kH·kW.
    public var patchSize: Int { inChannels * kernel.volume }
    /// Multiply–adds of the forward pass (the backward passes each cost the same).
    public var macs: Int { batch * outChannels * outSize.volume * patchSize }
    var isPointwise: Bool { kernel == Size3(1) && stride == Size3(1) && padding == Size3(0) }
}

/// Shapes of a transposed 3D convolution: input [N, Cin, D, H, W], weight [Cin, Cout, kD, kH, kW]
/// (PyTorch's layout), output D' = (D − 1)·s − 2p + k + outputPadding per axis.
public struct ConvTranspose3dGeometry: Equatable, Sendable {
    public let batch: Int
    public let inChannels: Int
    public let outChannels: Int
    public let inSize: Size3
    public let kernel: Size3
    public let stride: Size3
    public let padding: Size3
    public let outputPadding: Size3
    public let outSize: Size3

    public init(input: [Int], weight: [Int], stride: Size3, padding: Size3, outputPadding: Size3 = 0,
                op: String = "convTranspose3d") throws {
        guard input.count == 5, weight.count == 5 else {
            throw TensorError.shapeMismatch(op: op, shapes: [input, weight], reason: "input must be [N, C, D, H, W] and weight [Cin, Cout, kD, kH, kW]")
        }
        guard input[1] == weight[0] else {
            throw TensorError.shapeMismatch(op: op, shapes: [input, weight],
                                            reason: "input channels \(input[1]) ≠ weight's first dimension \(weight[0])")
        }
        guard input.allSatisfy({ $0 >= 1 }), weight.allSatisfy({ $0 >= 1 }) else {
            throw TensorError.invalidArgument(op: op, reason: "empty dimension in \(input) or \(weight)")
        }
        guard stride.allPositive, padding.allNonNegative, outputPadding.allNonNegative else {
            throw TensorError.invalidArgument(op: op, reason: "stride \(stride) must be ≥ 1, padding \(padding) and output padding \(outputPadding) ≥ 0")
        }
        guard outputPadding.d < stride.d, outputPadding.h < stride.h, outputPadding.w < stride.w else {
            throw TensorError.invalidArgument(op: op, reason: "output padding \(outputPadding) must be smaller than the stride \(stride)")
        }
        let k = Size3(weight[2], weight[3], weight[4])
        guard padding.d < k.d, padding.h < k.h, padding.w < k.w else {
            throw TensorError.invalidArgument(op: op, reason: "padding \(padding) must be smaller than the kernel \(k)")
        }
        let i = Size3(input[2], input[3], input[4])
        func out(_ n: Int, _ k: Int, _ s: Int, _ p: Int, _ op: Int) -> Int { (n - 1) * s - 2 * p + k + op }
        let o = Size3(out(i.d, k.d, stride.d, padding.d, outputPadding.d), out(i.h, k.h, stride.h, padding.h, outputPadding.h),
                      out(i.w, k.w, stride.w, padding.w, outputPadding.w))
        guard o.allPositive else {
            throw TensorError.shapeMismatch(op: op, shapes: [input, weight], reason: "output size \(o) would be empty")
        }
        batch = input[0]
        inChannels = input[1]
        outChannels = weight[1]
        inSize = i
        kernel = k
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        outSize = o
    }

    public var inputShape: [Int] { [batch, inChannels] + inSize.array }
    public var weightShape: [Int] { [inChannels, outChannels] + kernel.array }
    public var outputShape: [Int] { [batch, outChannels] + outSize.array }
    public var macs: Int { batch * inChannels * inSize.volume * outChannels * kernel.volume }

    /// The convolution whose data gradient this transposed convolution computes: it maps the
    /// transposed output (Cout channels, size outSize) to the transposed input (Cin, inSize).
    var adjointConv: Conv3dGeometry {
        Conv3dGeometry(unchecked: batch, inChannels: outChannels, outChannels: inChannels, inSize: outSize,
                       kernel: kernel, stride: stride, padding: padding, outSize: inSize)
    }
}
