import LumenTensor

/// 2-D convolution over (N, C, H, W) input (`nn.Conv2d`), initialised as PyTorch does.
public final class Conv2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let dilation: (Int, Int)
    public let groups: Int
    public var isTraining = true

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true) throws(LumenError) {
        guard inChannels > 0, outChannels > 0, kernelSize > 0, groups > 0, inChannels % groups == 0, outChannels % groups == 0 else {
            throw .invalidArgument(field: "Conv2d", reason: "channels \(inChannels)→\(outChannels), kernel \(kernelSize), groups \(groups) are not valid")
        }
        weight = try parameter([outChannels, inChannels / groups, kernelSize, kernelSize])
        self.bias = bias ? try parameter([outChannels]) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.dilation = (dilation, dilation)
        self.groups = groups
        try Init.defaultWeight(weight)
        if let b = self.bias { try Init.defaultBias(b, weightShape: weight.shape) }
    }

    /// The weight (and a following batch norm) prepared for oneDNN inference by `Module.packForInference()`:
    /// every evaluation-mode forward pass uses it (a dense input is converted), training mode never does.
    public internal(set) var packed: (weight: Tensor, bias: Tensor)?

    public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        if let packed, !isTraining {
            return try x.mkldnn().packedConv2d(weight: packed.weight, bias: packed.bias, stride: stride, padding: padding,
                                      dilation: dilation, groups: groups)
        }
        return try x.conv2d(weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// 2-D transposed convolution (`nn.ConvTranspose2d`); the weight is (in, out / groups, k, k) as in PyTorch.
public final class ConvTranspose2d: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int)
    public let padding: (Int, Int)
    public let outputPadding: (Int, Int)
    public let groups: Int
    public let dilation: (Int, Int)
    public var isTraining = true

    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, dilation: Int = 1) throws(LumenError) {
        guard inChannels > 0, outChannels > 0, kernelSize > 0, groups > 0, inChannels % groups == 0, outChannels % groups == 0 else {
            throw .invalidArgument(field: "ConvTranspose2d", reason: "channels \(inChannels)→\(outChannels), kernel \(kernelSize), groups \(groups) are not valid")
        }
        weight = try parameter([inChannels, outChannels / groups, kernelSize, kernelSize])
        self.bias = bias ? try parameter([outChannels]) : nil
        self.stride = (stride, stride)
        self.padding = (padding, padding)
        self.outputPadding = (outputPadding, outputPadding)
        self.groups = groups
        self.dilation = (dilation, dilation)
        try Init.defaultWeight(weight)
        if let b = self.bias { try Init.defaultBias(b, weightShape: weight.shape) }
    }

    public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        try x.convTranspose2d(weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                              groups: groups, dilation: dilation)
    }
}
