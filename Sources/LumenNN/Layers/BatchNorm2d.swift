import LumenTensor

/// Batch normalisation over (N, C, H, W) (`nn.BatchNorm2d`): batch statistics in training mode
/// (updating the running ones), running statistics in evaluation mode.
public final class BatchNorm2d: Module, StatefulBuffers {
    public let weight: Tensor?
    public let bias: Tensor?
    public let runningMean: Tensor?
    public let runningVar: Tensor?
    /// `num_batches_tracked`, kept as a Swift counter and mirrored into its buffer when read.
    private let batchesTrackedBuffer: Tensor?
    private var batchesTracked = 0
    public let eps: Double
    public let momentum: Double
    public var isTraining = true

    public init(_ features: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true) throws(LumenError) {
        guard features > 0 else { throw .invalidArgument(field: "BatchNorm2d", reason: "features must be positive, got \(features)") }
        weight = affine ? try Tensor.ones([features]).requiringGrad() : nil
        bias = affine ? try Tensor.zeros([features]).requiringGrad() : nil
        runningMean = trackRunningStats ? try Tensor.zeros([features]) : nil
        runningVar = trackRunningStats ? try Tensor.ones([features]) : nil
        batchesTrackedBuffer = trackRunningStats ? try Tensor.zeros([], dtype: .int64) : nil
        self.eps = eps
        self.momentum = momentum
    }

    public var ownParameters: [(String, Tensor)] {
        guard let weight, let bias else { return [] }
        return [("weight", weight), ("bias", bias)]
    }

    public var ownBuffers: [(String, Tensor)] {
        guard let runningMean, let runningVar, let batchesTrackedBuffer else { return [] }
        try? batchesTrackedBuffer.fill(Double(batchesTracked))
        return [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", batchesTrackedBuffer)]
    }

    func didLoadBuffers() {
        if let batchesTrackedBuffer, let n = try? batchesTrackedBuffer.itemInt() { batchesTracked = n }
    }

    /// Folded into the convolution before it by `Module.packForInference()`: in evaluation mode that
    /// convolution's packed output (an mkldnn tensor) passes through unchanged.
    public internal(set) var foldedIntoConv = false

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        if foldedIntoConv && !isTraining && x.isMkldnn { return x }
        let useBatchStats = isTraining || runningMean == nil
        if isTraining && runningMean != nil { batchesTracked += 1 }
        return try x.batchNorm(weight: weight, bias: bias, runningMean: runningMean, runningVar: runningVar,
                               training: useBatchStats, momentum: momentum, eps: eps)
    }
}
