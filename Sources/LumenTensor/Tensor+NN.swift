import CTorch

/// How a loss is reduced over the batch, as in PyTorch.
public enum Reduction: Int32, Sendable, Codable {
    case none = 0, mean = 1, sum = 2
}

/// Interpolation modes of `Tensor.interpolate`.
public enum InterpolationMode: Int32, Sendable, Codable {
    case nearest = 0, bilinear = 1
}

extension Tensor {
    public func relu() throws(LumenError) -> Tensor { try unary("relu", lm_relu) }
    public func sigmoid() throws(LumenError) -> Tensor { try unary("sigmoid", lm_sigmoid) }
    public func tanh() throws(LumenError) -> Tensor { try unary("tanh", lm_tanh) }
    /// GELU with the exact (erf) formulation, PyTorch's default.
    public func gelu() throws(LumenError) -> Tensor { try unary("gelu", lm_gelu) }

    public func leakyRelu(_ negativeSlope: Double = 0.01) throws(LumenError) -> Tensor {
        try Tensor.make("leaky_relu") { lm_leaky_relu(handle, negativeSlope, $0) }
    }

    public func softmax(dim: Int) throws(LumenError) -> Tensor {
        try Tensor.make("softmax") { lm_softmax(handle, Int64(dim), $0) }
    }

    public func logSoftmax(dim: Int) throws(LumenError) -> Tensor {
        try Tensor.make("log_softmax") { lm_log_softmax(handle, Int64(dim), $0) }
    }

    /// `x W^T + b` (`F.linear`).
    public func linear(weight: Tensor, bias: Tensor?) throws(LumenError) -> Tensor {
        try Tensor.make("linear") { lm_linear(handle, weight.handle, bias?.handle, $0) }
    }

    /// 2-D convolution of an (N, C, H, W) input (`F.conv2d`).
    public func conv2d(weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                       dilation: (Int, Int) = (1, 1), groups: Int = 1) throws(LumenError) -> Tensor {
        let args = [stride.0, stride.1, padding.0, padding.1, dilation.0, dilation.1].map(Int64.init)
        return try Tensor.make("conv2d") { err in
            args.withUnsafeBufferPointer { a in
                lm_conv2d(handle, weight.handle, bias?.handle, a.baseAddress, a.baseAddress! + 2, a.baseAddress! + 4, Int64(groups), err)
            }
        }
    }

    /// A convolution weight prepared for inference: an evaluation-mode batch norm that follows the
    /// convolution folded in (when `batchNorm` is given) and the weight reordered once into oneDNN's layout.
    public static func packConv2d(weight: Tensor, bias: Tensor?, batchNorm: (weight: Tensor?, bias: Tensor?, mean: Tensor, variance: Tensor, eps: Double)?,
                                  stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
                                  groups: Int) throws(LumenError) -> (weight: Tensor, bias: Tensor) {
        let args = [stride.0, stride.1, padding.0, padding.1, dilation.0, dilation.1].map(Int64.init)
        var packedWeight: OpaquePointer?, packedBias: OpaquePointer?
        let status = try torchCall("pack_conv2d") { err in
            args.withUnsafeBufferPointer { a in
                lm_mkldnn_pack_conv2d(weight.handle, bias?.handle, batchNorm?.weight?.handle, batchNorm?.bias?.handle,
                                      batchNorm?.mean.handle, batchNorm?.variance.handle, batchNorm?.eps ?? 0,
                                      a.baseAddress, a.baseAddress! + 2, a.baseAddress! + 4, Int64(groups),
                                      &packedWeight, &packedBias, err)
            }
        }
        guard status == 0, let packedWeight, let packedBias else { throw .torch(op: "pack_conv2d", message: "no result") }
        return (Tensor(owning: packedWeight), Tensor(owning: packedBias))
    }

    /// How a convolution weight from `packConv2d` runs. 3×3, stride-1 convolutions of up to 256×256 channels (multiples
    /// of 16) run as Winograd F(2×2, 3×3) through oneDNN, about a third faster than the direct algorithm on AVX-512 with
    /// results within ~1e-6 of it; their Winograd weights are made at the first call, for that input's height and width
    /// (other sizes then run direct). `LUMEN_WINOGRAD=0` at packing time keeps every convolution direct.
    public enum PackedConvolutionAlgorithm: Int32, Sendable {
        /// The direct algorithm (not a 3×3 stride-1 convolution, too many channels, turned off, or built without oneDNN's headers).
        case direct = 0
        /// Winograd once the first input arrives.
        case winogradAtFirstInput = 1
        /// Winograd for inputs of the first input's size.
        case winograd = 2
        /// Direct: oneDNN has no Winograd kernel for the first input's size.
        case directForThisSize = 3
    }

    /// Whether `packConv2d` makes Winograd convolutions in this process.
    public enum WinogradSupport: Int32, Sendable {
        /// This build has no oneDNN headers (a libtorch other than Debian's).
        case notBuilt = 0
        /// `LUMEN_WINOGRAD=0` (or off/false/no).
        case turnedOff = 1
        case on = 2
    }

    public static var winogradSupport: WinogradSupport { WinogradSupport(rawValue: lm_winograd_support()) ?? .notBuilt }

    /// How this packed convolution weight (from `packConv2d`) runs; `.direct` for any other tensor.
    public var packedConvolutionAlgorithm: PackedConvolutionAlgorithm {
        PackedConvolutionAlgorithm(rawValue: lm_mkldnn_conv2d_algorithm(handle)) ?? .direct
    }

    /// Winograd layers of up to 128×128 channels also run whole batches of three or more images as F(4×4, 3×3),
    /// a fifth faster again, with weights of a layout that depends on the batch size (4× the dense weight): how many
    /// such layouts this packed weight made so far (at most 2; other batch sizes run in slices of F(2×2, 3×3)).
    public var packedConvolutionWholeBatchLayouts: Int { Int(lm_mkldnn_conv2d_whole_batch_layouts(handle)) }

    /// A convolution of an mkldnn input (`mkldnn()`) with a weight from `packConv2d`; the result stays mkldnn.
    public func packedConv2d(weight: Tensor, bias: Tensor?, stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
                             groups: Int) throws(LumenError) -> Tensor {
        let args = [stride.0, stride.1, padding.0, padding.1, dilation.0, dilation.1].map(Int64.init)
        return try Tensor.make("mkldnn_conv2d") { err in
            args.withUnsafeBufferPointer { a in
                lm_mkldnn_conv2d(handle, weight.handle, bias?.handle, a.baseAddress, a.baseAddress! + 2, a.baseAddress! + 4, Int64(groups), err)
            }
        }
    }

    /// 2-D transposed convolution (`F.conv_transpose2d`).
    public func convTranspose2d(weight: Tensor, bias: Tensor?, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                                outputPadding: (Int, Int) = (0, 0), groups: Int = 1,
                                dilation: (Int, Int) = (1, 1)) throws(LumenError) -> Tensor {
        let args = [stride.0, stride.1, padding.0, padding.1, outputPadding.0, outputPadding.1, dilation.0, dilation.1].map(Int64.init)
        return try Tensor.make("conv_transpose2d") { err in
            args.withUnsafeBufferPointer { a in
                let p = a.baseAddress!
                return lm_conv_transpose2d(handle, weight.handle, bias?.handle, p, p + 2, p + 4, Int64(groups), p + 6, err)
            }
        }
    }

    /// Batch normalisation; in training mode the running statistics are updated in place (`F.batch_norm`).
    public func batchNorm(weight: Tensor?, bias: Tensor?, runningMean: Tensor?, runningVar: Tensor?,
                          training: Bool, momentum: Double = 0.1, eps: Double = 1e-5) throws(LumenError) -> Tensor {
        try Tensor.make("batch_norm") {
            lm_batch_norm(handle, weight?.handle, bias?.handle, runningMean?.handle, runningVar?.handle, training, momentum, eps, $0)
        }
    }

    /// Max pooling; `stride` defaults to the kernel size.
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          dilation: (Int, Int) = (1, 1), ceilMode: Bool = false) throws(LumenError) -> Tensor {
        let s = stride ?? kernel
        let args = [kernel.0, kernel.1, s.0, s.1, padding.0, padding.1, dilation.0, dilation.1].map(Int64.init)
        return try Tensor.make("max_pool2d") { err in
            args.withUnsafeBufferPointer { a in
                let p = a.baseAddress!
                return lm_max_pool2d(handle, p, p + 2, p + 4, p + 6, ceilMode, err)
            }
        }
    }

    /// Average pooling; `stride` defaults to the kernel size.
    public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          ceilMode: Bool = false, countIncludePad: Bool = true) throws(LumenError) -> Tensor {
        let s = stride ?? kernel
        let args = [kernel.0, kernel.1, s.0, s.1, padding.0, padding.1].map(Int64.init)
        return try Tensor.make("avg_pool2d") { err in
            args.withUnsafeBufferPointer { a in
                let p = a.baseAddress!
                return lm_avg_pool2d(handle, p, p + 2, p + 4, ceilMode, countIncludePad, err)
            }
        }
    }

    /// Adaptive average pooling to a fixed output size.
    public func adaptiveAvgPool2d(_ outputSize: (Int, Int)) throws(LumenError) -> Tensor {
        let args = [Int64(outputSize.0), Int64(outputSize.1)]
        return try Tensor.make("adaptive_avg_pool2d") { err in args.withUnsafeBufferPointer { lm_adaptive_avg_pool2d(handle, $0.baseAddress, err) } }
    }

    /// Zeroes elements with probability `p` and scales the rest by 1/(1-p) when `training`.
    public func dropout(_ p: Double, training: Bool) throws(LumenError) -> Tensor {
        guard (0...1).contains(p) else { throw .invalidArgument(field: "dropout p", reason: "\(p) is not in [0, 1]") }
        return try Tensor.make("dropout") { lm_dropout(handle, p, training, $0) }
    }

    /// Resizes an (N, C, H, W) tensor to `size` (`F.interpolate(size=…)`).
    public func interpolate(size: (Int, Int), mode: InterpolationMode = .nearest, alignCorners: Bool = false) throws(LumenError) -> Tensor {
        try interpolate(size: size, mode: mode, alignCorners: alignCorners, scales: (0, 0))
    }

    /// Rescales an (N, C, H, W) tensor by a factor (`F.interpolate(scale_factor=…)`).
    public func interpolate(scale: Double, mode: InterpolationMode = .nearest, alignCorners: Bool = false) throws(LumenError) -> Tensor {
        let dims = shape
        guard dims.count == 4 else {
            throw .invalidArgument(field: "interpolate input", reason: "expects (N, C, H, W), got shape \(dims)")
        }
        guard scale > 0 else { throw .invalidArgument(field: "scale", reason: "must be positive, got \(scale)") }
        let size = (Int((Double(dims[2]) * scale).rounded(.down)), Int((Double(dims[3]) * scale).rounded(.down)))
        // PyTorch passes the user's scale to the kernel unless align_corners is set.
        let scales = alignCorners ? (0.0, 0.0) : (scale, scale)
        return try interpolate(size: size, mode: mode, alignCorners: alignCorners, scales: scales)
    }

    private func interpolate(size: (Int, Int), mode: InterpolationMode, alignCorners: Bool, scales: (Double, Double)) throws(LumenError) -> Tensor {
        let args = [Int64(size.0), Int64(size.1)]
        return try Tensor.make("interpolate") { err in
            args.withUnsafeBufferPointer { lm_interpolate(handle, $0.baseAddress, mode.rawValue, alignCorners, scales.0, scales.1, err) }
        }
    }
}

/// Cross-entropy between logits (N, C, …) and int64 class targets (`F.cross_entropy`).
public func crossEntropy(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean,
                         ignoreIndex: Int = -100, labelSmoothing: Double = 0) throws(LumenError) -> Tensor {
    try Tensor.make("cross_entropy") {
        lm_cross_entropy(logits.handle, target.handle, weight?.handle, reduction.rawValue, Int64(ignoreIndex), labelSmoothing, $0)
    }
}

/// Binary cross-entropy on logits, numerically stable (`F.binary_cross_entropy_with_logits`).
public func binaryCrossEntropyWithLogits(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil, posWeight: Tensor? = nil,
                                         reduction: Reduction = .mean) throws(LumenError) -> Tensor {
    try Tensor.make("binary_cross_entropy_with_logits") {
        lm_bce_with_logits(logits.handle, target.handle, weight?.handle, posWeight?.handle, reduction.rawValue, $0)
    }
}

/// Mean squared error (`F.mse_loss`).
public func mseLoss(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) throws(LumenError) -> Tensor {
    try Tensor.make("mse_loss") { lm_mse_loss(input.handle, target.handle, reduction.rawValue, $0) }
}
