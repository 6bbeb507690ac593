import LumenTensor

/// Probabilities and a matching one-hot (or float) target for segmentation losses: softmax over
/// classes for C > 1 with int64 targets (N, H, W); sigmoid for one channel with 0/1 targets.
func segmentationProbabilities(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> (Tensor, Tensor) {
    let dims = logits.shape
    guard dims.count >= 3 else {
        throw .invalidArgument(field: "segmentation logits", reason: "expected (N, C, …), got shape \(dims)")
    }
    if dims[1] == 1 {
        let t = target.rank == dims.count ? target : try target.unsqueeze(1)
        return (try logits.sigmoid(), try t.to(logits.dtype))
    }
    let probs = try logits.softmax(dim: 1)
    let order = [0, dims.count - 1] + Array(1..<(dims.count - 1))  // (N, …, C) → (N, C, …)
    let oneHot = try target.to(.int64).oneHot(classes: dims[1]).permute(order).to(logits.dtype)
    return (probs, oneHot)
}

/// Soft Dice loss, 1 − mean over classes of (2|P∩T| + s)/(|P| + |T| + s), computed over the whole batch.
public struct DiceLoss: Loss {
    public var smooth: Double
    /// Leave out class 0 (background) from the mean, as is common for multi-class segmentation.
    public var includeBackground: Bool

    public init(smooth: Double = 1, includeBackground: Bool = true) {
        self.smooth = smooth
        self.includeBackground = includeBackground
    }

    public func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> Tensor {
        let (probs, truth) = try segmentationProbabilities(logits, target)
        let reduceDims = [0] + Array(2..<probs.rank)
        let intersection = try (probs * truth).sum(dims: reduceDims)
        let total = try probs.sum(dims: reduceDims) + truth.sum(dims: reduceDims)
        var dice = try (intersection * 2 + smooth) / (total + smooth)
        if !includeBackground && dice.count > 1 { dice = try dice.slice(dim: 0, start: 1) }
        return try 1 - dice.mean()
    }
}

/// Dice plus cross-entropy (or BCE for one channel), weighted: the usual default for medical segmentation.
public struct DiceCELoss: Loss {
    public var dice: DiceLoss
    public var diceWeight: Double
    public var ceWeight: Double

    public init(dice: DiceLoss = DiceLoss(), diceWeight: Double = 1, ceWeight: Double = 1) {
        self.dice = dice
        self.diceWeight = diceWeight
        self.ceWeight = ceWeight
    }

    public func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> Tensor {
        let ce: Tensor
        if logits.shape[1] == 1 {
            let t = target.rank == logits.rank ? target : try target.unsqueeze(1)
            ce = try binaryCrossEntropyWithLogits(logits, t.to(logits.dtype))
        } else {
            ce = try crossEntropy(logits, target.to(.int64))
        }
        return try dice(logits, target) * diceWeight + ce * ceWeight
    }
}

/// Focal loss (Lin et al. 2017): cross-entropy scaled by (1 − p_t)^γ, optionally weighted by α for the
/// positive class (binary) or per class. Down-weights easy examples for imbalanced data.
public struct FocalLoss: Loss {
    public var gamma: Double
    public var alpha: Double?
    public var reduction: Reduction

    public init(gamma: Double = 2, alpha: Double? = nil, reduction: Reduction = .mean) {
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = reduction
    }

    public func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> Tensor {
        var loss: Tensor
        if logits.rank >= 2 && logits.shape[1] > 1 {
            let ce = try crossEntropy(logits, target.to(.int64), reduction: .none)
            let pt = try (-ce).exp()
            loss = try (1 - pt).pow(gamma) * ce
            if let alpha { loss = try loss * alpha }
        } else {
            let t = try target.to(logits.dtype).reshape(logits.shape)
            let ce = try binaryCrossEntropyWithLogits(logits, t, reduction: .none)
            let p = try logits.sigmoid()
            let pt = try p * t + (1 - p) * (1 - t)
            loss = try (1 - pt).pow(gamma) * ce
            if let alpha { loss = try loss * (t * alpha + (1 - t) * (1 - alpha)) }
        }
        switch reduction {
        case .none: return loss
        case .mean: return try loss.mean()
        case .sum: return try loss.sum()
        }
    }
}
