// The layers of the Stage 1 model, each a thin owner of its parameters over Tensor's `F` ops.
// Initialisation follows the reference model (tools/reference_model.py): xavier_uniform weights,
// zero biases, BatchNorm weight 1 / bias 0.
import Foundation
import Tensor

public struct Conv3dLayer {
    public let weight: Variable
    public let bias: Variable?
    public let stride: Int
    public let padding: Int

    public init(_ scope: ParameterScope, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool) {
        weight = scope.xavierUniform("weight", shape: [cout, cin, kernel, kernel, kernel])
        self.bias = bias ? scope.zeros("bias", count: cout) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        try F.conv3d(x, weight: weight, bias: bias, stride: Size3(stride), padding: Size3(padding), ctx)
    }
}

public struct ConvTranspose3dLayer {
    public let weight: Variable
    public let bias: Variable?
    public let stride: Int
    public let padding: Int

    public init(_ scope: ParameterScope, _ cin: Int, _ cout: Int, kernel: Int, stride: Int, padding: Int, bias: Bool = true) {
        weight = scope.xavierUniform("weight", shape: [cin, cout, kernel, kernel, kernel])
        self.bias = bias ? scope.zeros("bias", count: cout) : nil
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        try F.convTranspose3d(x, weight: weight, bias: bias, stride: Size3(stride), padding: Size3(padding), ctx)
    }
}

/// BatchNorm3d (momentum 0.1, eps 1e-5) with its running statistics as named buffers.
public struct BatchNorm3dLayer {
    public let weight: Variable
    public let bias: Variable
    public let state: BatchNormState

    public init(_ scope: ParameterScope, _ channels: Int) {
        weight = scope.ones("weight", count: channels)
        bias = scope.zeros("bias", count: channels)
        state = scope.batchNormBuffers(channels: channels)
    }

    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        try F.batchNorm(x, weight: weight, bias: bias, state: state, momentum: 0.1, eps: 1e-5, ctx)
    }

    /// ReLU(BatchNorm(x)) in one fused pass (see `F.batchNormReLU`).
    public func withReLU(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        try F.batchNormReLU(x, weight: weight, bias: bias, state: state, momentum: 0.1, eps: 1e-5, ctx)
    }
}

public struct LinearLayer {
    public let weight: Variable
    public let bias: Variable

    public init(_ scope: ParameterScope, _ inFeatures: Int, _ outFeatures: Int) {
        weight = scope.xavierUniform("weight", shape: [outFeatures, inFeatures])
        bias = scope.zeros("bias", count: outFeatures)
    }

    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        try F.linear(x, weight: weight, bias: bias, ctx)
    }
}

/// conv3×3×3 → BN → ReLU → conv3×3×3 → BN, plus the shortcut (1×1×1 conv + BN where the stride
/// or the channel count changes, identity otherwise), then ReLU. PyTorch names: conv1, bn1, conv2,
/// bn2, shortcut.0, shortcut.1.
public struct ResidualBlock {
    let conv1: Conv3dLayer, bn1: BatchNorm3dLayer, conv2: Conv3dLayer, bn2: BatchNorm3dLayer
    let shortcut: (Conv3dLayer, BatchNorm3dLayer)?

    public init(_ scope: ParameterScope, _ cin: Int, _ cout: Int, stride: Int) {
        conv1 = Conv3dLayer(scope.child("conv1"), cin, cout, kernel: 3, stride: stride, padding: 1, bias: false)
        bn1 = BatchNorm3dLayer(scope.child("bn1"), cout)
        conv2 = Conv3dLayer(scope.child("conv2"), cout, cout, kernel: 3, stride: 1, padding: 1, bias: false)
        bn2 = BatchNorm3dLayer(scope.child("bn2"), cout)
        if stride != 1 || cin != cout {
            let s = scope.child("shortcut")
            shortcut = (Conv3dLayer(s.child("0"), cin, cout, kernel: 1, stride: stride, padding: 0, bias: false),
                        BatchNorm3dLayer(s.child("1"), cout))
        } else {
            shortcut = nil
        }
    }

    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        var out = try bn1.withReLU(try conv1(x, ctx), ctx)
        out = try bn2(try conv2(out, ctx), ctx)
        let skip = try shortcut.map { try $0.1(try $0.0(x, ctx), ctx) } ?? x
        return F.relu(try F.add(out, skip, ctx), ctx)
    }
}

/// x · σ(conv(ReLU(conv(x)))) with 1×1×1 convs c → max(1, c/8) → 1 (biases on). Names: 0, 2.
public struct SpatialAttention {
    let reduce: Conv3dLayer, expand: Conv3dLayer

    public init(_ scope: ParameterScope, _ channels: Int) {
        let hidden = max(1, channels / 8)
        reduce = Conv3dLayer(scope.child("0"), channels, hidden, kernel: 1, bias: true)
        expand = Conv3dLayer(scope.child("2"), hidden, 1, kernel: 1, bias: true)
    }

    public func callAsFunction(_ x: Variable, _ ctx: ComputeContext) throws -> Variable {
        let map = F.sigmoid(try expand(F.relu(try reduce(x, ctx), ctx), ctx), ctx)
        return try F.mul(x, map, ctx)
    }
}
