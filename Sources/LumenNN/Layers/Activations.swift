import LumenTensor

/// `nn.ReLU`.
public final class ReLU: Module {
    public var isTraining = true
    /// Overwrite the input (`nn.ReLU(inplace=True)`): no new tensor, for inputs that nothing else reads.
    public let inPlace: Bool
    public init(inPlace: Bool = false) { self.inPlace = inPlace }
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { inPlace ? try x.reluInPlace() : try x.relu() }
}

/// `nn.LeakyReLU`.
public final class LeakyReLU: Module {
    public let negativeSlope: Double
    public var isTraining = true
    public init(negativeSlope: Double = 0.01) { self.negativeSlope = negativeSlope }
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.leakyRelu(negativeSlope) }
}

/// `nn.GELU` (exact).
public final class GELU: Module {
    public var isTraining = true
    public init() {}
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.gelu() }
}

/// `nn.Sigmoid`.
public final class Sigmoid: Module {
    public var isTraining = true
    public init() {}
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.sigmoid() }
}

/// `nn.Tanh`.
public final class Tanh: Module {
    public var isTraining = true
    public init() {}
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.tanh() }
}

/// `nn.Softmax` over one dimension.
public final class Softmax: Module {
    public let dim: Int
    public var isTraining = true
    public init(dim: Int = 1) { self.dim = dim }
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.softmax(dim: dim) }
}

/// `nn.Dropout`: active only in training mode.
public final class Dropout: Module {
    public let p: Double
    public var isTraining = true
    public init(_ p: Double = 0.5) { self.p = p }
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.dropout(p, training: isTraining) }
}

/// `nn.Flatten` (from dimension 1 by default).
public final class Flatten: Module {
    public let startDim: Int, endDim: Int
    public var isTraining = true
    public init(startDim: Int = 1, endDim: Int = -1) { self.startDim = startDim; self.endDim = endDim }
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.flatten(startDim: startDim, endDim: endDim) }
}

/// `nn.Identity`.
public final class Identity: Module {
    public var isTraining = true
    public init() {}
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { x }
}
