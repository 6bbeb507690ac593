import LumenTensor

/// A training objective: logits and targets in, a scalar (or per-element, with `.none`) loss out.
public protocol Loss: Sendable {
    func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> Tensor
}

/// Cross-entropy over class logits (N, C, …) and int64 targets (N, …), with class weights,
/// label smoothing and an ignored index (`nn.CrossEntropyLoss`).
public struct CrossEntropyLoss: Loss {
    public var classWeights: [Double]?
    public var labelSmoothing: Double
    public var ignoreIndex: Int
    public var reduction: Reduction

    public init(classWeights: [Double]? = nil, labelSmoothing: Double = 0, ignoreIndex: Int = -100, reduction: Reduction = .mean) {
        self.classWeights = classWeights
        self.labelSmoothing = labelSmoothing
        self.ignoreIndex = ignoreIndex
        self.reduction = reduction
    }

    public func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> Tensor {
        let weight = try classWeights.map { (w) throws(LumenError) in try Tensor(w).to(logits.dtype, device: logits.device) }
        return try crossEntropy(logits, target, weight: weight, reduction: reduction, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing)
    }
}

/// Binary cross-entropy on logits with a per-class positive weight (`nn.BCEWithLogitsLoss`).
public struct BCEWithLogitsLoss: Loss {
    public var posWeight: [Double]?
    public var reduction: Reduction

    public init(posWeight: [Double]? = nil, reduction: Reduction = .mean) {
        self.posWeight = posWeight
        self.reduction = reduction
    }

    public func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> Tensor {
        let pw = try posWeight.map { (w) throws(LumenError) in try Tensor(w).to(logits.dtype, device: logits.device) }
        return try binaryCrossEntropyWithLogits(logits, target.to(logits.dtype), posWeight: pw, reduction: reduction)
    }
}
