import LumenTensor

/// Fully connected layer `y = x Wᵀ + b` (`nn.Linear`), initialised as PyTorch does.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public var isTraining = true

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) throws(LumenError) {
        guard inFeatures > 0, outFeatures > 0 else {
            throw .invalidArgument(field: "Linear", reason: "features \(inFeatures)→\(outFeatures) must be positive")
        }
        weight = try parameter([outFeatures, inFeatures])
        self.bias = bias ? try parameter([outFeatures]) : nil
        try Init.defaultWeight(weight)
        if let b = self.bias { try Init.defaultBias(b, weightShape: weight.shape) }
    }

    public var ownParameters: [(String, Tensor)] { [("weight", weight)] + (bias.map { [("bias", $0)] } ?? []) }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        try x.linear(weight: weight, bias: bias)
    }
}
