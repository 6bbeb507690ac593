import LumenTensor

/// Modules applied in order (`nn.Sequential`); children are named by index (`features.0.weight`).
public final class Sequential: Module {
    public var layers: [any Module]
    public var isTraining = true

    public init(_ layers: [any Module]) { self.layers = layers }
    public convenience init(_ layers: any Module...) { self.init(layers) }

    public var children: [(String, any Module)] { layers.enumerated().map { ("\($0.offset)", $0.element) } }

    public subscript(index: Int) -> any Module {
        get { layers[index] }
        set { layers[index] = newValue }
    }

    public var count: Int { layers.count }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        var y = x
        for layer in layers { y = try layer(y) }
        return y
    }
}
