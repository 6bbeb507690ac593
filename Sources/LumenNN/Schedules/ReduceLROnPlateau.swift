import LumenTensor

/// Scales the rate by `factor` when a monitored metric has not improved for `patience` steps
/// (`ReduceLROnPlateau`, relative threshold).
public final class ReduceLROnPlateau {
    public enum Mode: String, Sendable, Codable { case min, max }

    public let optimizer: Optimizer?
    public let mode: Mode
    public let factor: Double, patience: Int, threshold: Double, cooldown: Int, minLR: Double, eps: Double
    public private(set) var learningRates: [Double]
    private var best: Double
    private var badSteps = 0
    private var cooldownLeft = 0

    /// - Parameter optimizer: whose groups to update; nil to only compute rates (starting from `initialRates`).
    public init(_ optimizer: Optimizer?, initialRates: [Double]? = nil, mode: Mode = .min, factor: Double = 0.1, patience: Int = 10,
                threshold: Double = 1e-4, cooldown: Int = 0, minLR: Double = 0, eps: Double = 1e-8) {
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.cooldown = cooldown
        self.minLR = minLR
        self.eps = eps
        learningRates = initialRates ?? optimizer.map { o in (0..<o.groupCount).map { o.learningRate(group: $0) } } ?? []
        best = mode == .min ? .infinity : -.infinity
    }

    /// Feeds one metric value (e.g. validation loss) and returns the new rates.
    @discardableResult
    public func step(metric: Double) throws(LumenError) -> [Double] {
        let improved = mode == .min ? metric < best * (1 - threshold) : metric > best * (1 + threshold)
        if improved { best = metric; badSteps = 0 } else { badSteps += 1 }
        if cooldownLeft > 0 { cooldownLeft -= 1; badSteps = 0 }
        if badSteps > patience {
            for (i, lr) in learningRates.enumerated() {
                let new = max(lr * factor, minLR)
                if lr - new > eps {
                    learningRates[i] = new
                    try optimizer?.setLearningRate(new, group: i)
                }
            }
            cooldownLeft = cooldown
            badSteps = 0
        }
        return learningRates
    }
}
