import LumenTensor

/// Max pooling (`nn.MaxPool2d`); `stride` defaults to the kernel size.
public final class MaxPool2d: Module {
    public let kernel: Int, stride: Int, padding: Int, ceilMode: Bool
    public var isTraining = true

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, ceilMode: Bool = false) {
        kernel = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.ceilMode = ceilMode
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        try x.maxPool2d(kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding), ceilMode: ceilMode)
    }
}

/// Average pooling (`nn.AvgPool2d`).
public final class AvgPool2d: Module {
    public let kernel: Int, stride: Int, padding: Int
    public var isTraining = true

    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        kernel = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        try x.avgPool2d(kernel: (kernel, kernel), stride: (stride, stride), padding: (padding, padding))
    }
}

/// Adaptive average pooling to a fixed spatial size (`nn.AdaptiveAvgPool2d`).
public final class AdaptiveAvgPool2d: Module {
    public let outputSize: (Int, Int)
    public var isTraining = true

    public init(_ outputSize: (Int, Int)) { self.outputSize = outputSize }
    public convenience init(_ size: Int) { self.init((size, size)) }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try x.adaptiveAvgPool2d(outputSize) }
}
