import LumenTensor

/// Two 3×3 conv–BN–ReLU layers (`double_conv.0…5`), the unit of U-Net.
public final class DoubleConv: Module {
    public let doubleConv: Sequential
    public var isTraining = true

    public init(_ inChannels: Int, _ outChannels: Int, mid: Int? = nil) throws(LumenError) {
        let m = mid ?? outChannels
        doubleConv = Sequential(try Conv2d(inChannels, m, kernelSize: 3, padding: 1, bias: false), try BatchNorm2d(m), ReLU(),
                                try Conv2d(m, outChannels, kernelSize: 3, padding: 1, bias: false), try BatchNorm2d(outChannels), ReLU())
    }

    public var children: [(String, any Module)] { [("double_conv", doubleConv)] }
    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try doubleConv(x) }
}

/// One U-Net decoder step: up-sample, concatenate the skip connection, double convolution.
public final class UpBlock: Module {
    public let up: (any Module)?
    public let conv: DoubleConv
    public let bilinear: Bool
    public var isTraining = true

    init(_ inChannels: Int, _ outChannels: Int, bilinear: Bool) throws(LumenError) {
        self.bilinear = bilinear
        if bilinear {
            up = nil
            conv = try DoubleConv(inChannels, outChannels, mid: inChannels / 2)
        } else {
            up = try ConvTranspose2d(inChannels, inChannels / 2, kernelSize: 2, stride: 2)
            conv = try DoubleConv(inChannels, outChannels)
        }
    }

    public var children: [(String, any Module)] { (up.map { [("up", $0)] } ?? []) + [("conv", conv)] }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try conv(x) }

    /// Up-samples `x` to `skip`'s size, concatenates along channels and convolves.
    func callAsFunction(_ x: Tensor, skip: Tensor) throws(LumenError) -> Tensor {
        let target = skip.shape
        var y = try bilinear ? x.interpolate(scale: 2, mode: .bilinear, alignCorners: true) : up!(x)
        if y.shape[2] != target[2] || y.shape[3] != target[3] {
            // Odd sizes: resize to the skip connection rather than crop, so any input size works.
            y = try y.interpolate(size: (target[2], target[3]), mode: .nearest)
        }
        return try conv(Tensor.cat([skip, y], dim: 1))
    }
}

/// U-Net (Ronneberger et al. 2015) for segmentation: `depth` down/up steps from `baseWidth` channels,
/// bilinear or transposed-convolution up-sampling; outputs (N, numClasses, H, W) logits.
public final class UNet: Module {
    public let inc: DoubleConv
    public let down: [DoubleConv]
    public let up: [UpBlock]
    public let outc: Conv2d
    public let pool = MaxPool2d(kernelSize: 2)
    public let depth: Int
    public var isTraining = true

    public init(inChannels: Int = 1, numClasses: Int = 2, depth: Int = 4, baseWidth: Int = 64, bilinear: Bool = false) throws(LumenError) {
        guard (1...6).contains(depth), baseWidth > 0 else {
            throw .invalidArgument(field: "UNet", reason: "depth must be 1…6 and baseWidth positive (got \(depth), \(baseWidth))")
        }
        self.depth = depth
        let factor = bilinear ? 2 : 1
        inc = try DoubleConv(inChannels, baseWidth)
        var downs: [DoubleConv] = []
        for i in 0..<depth {
            let cin = baseWidth << i
            let cout = (baseWidth << (i + 1)) / (i == depth - 1 ? factor : 1)
            downs.append(try DoubleConv(cin, cout))
        }
        down = downs
        var ups: [UpBlock] = []
        for i in (0..<depth).reversed() {
            let cin = baseWidth << (i + 1)
            let cout = (baseWidth << i) / (i == 0 ? 1 : factor)
            ups.append(try UpBlock(cin, cout, bilinear: bilinear))
        }
        up = ups
        outc = try Conv2d(baseWidth, numClasses, kernelSize: 1)
    }

    public var children: [(String, any Module)] {
        [("inc", inc)] + down.enumerated().map { ("down.\($0.offset)", $0.element) }
            + up.enumerated().map { ("up.\($0.offset)", $0.element) } + [("outc", outc)]
    }

    /// The deepest feature maps (after the last down-sampling block), e.g. for embeddings.
    public func bottleneck(_ x: Tensor) throws(LumenError) -> Tensor {
        var y = try inc(x)
        for block in down { y = try block(pool(y)) }
        return y
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        var skips = [try inc(x)]
        for block in down { skips.append(try block(pool(skips.last!))) }
        var y = skips.removeLast()
        for block in up { y = try block(y, skip: skips.removeLast()) }
        return try outc(y)
    }
}
