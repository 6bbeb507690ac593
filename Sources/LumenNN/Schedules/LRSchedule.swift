import LumenTensor
import Foundation

/// A learning-rate schedule in closed form: the rate after `step` optimizer steps for a group whose
/// initial rate is `base`. Matches `torch.optim.lr_scheduler` stepped once per optimizer step.
public protocol LRSchedule: Sendable {
    func learningRate(afterSteps step: Int, base: Double) -> Double
}

/// Multiplies the rate by `gamma` every `stepSize` steps (`StepLR`).
public struct StepLR: LRSchedule {
    public var stepSize: Int, gamma: Double
    public init(stepSize: Int, gamma: Double = 0.1) { self.stepSize = max(1, stepSize); self.gamma = gamma }
    public func learningRate(afterSteps step: Int, base: Double) -> Double {
        base * pow(gamma, Double(step / stepSize))
    }
}

/// Multiplies the rate by `gamma` at each milestone (`MultiStepLR`).
public struct MultiStepLR: LRSchedule {
    public var milestones: [Int], gamma: Double
    public init(milestones: [Int], gamma: Double = 0.1) { self.milestones = milestones.sorted(); self.gamma = gamma }
    public func learningRate(afterSteps step: Int, base: Double) -> Double {
        base * pow(gamma, Double(milestones.filter { $0 <= step }.count))
    }
}

/// Cosine annealing from the base rate to `etaMin` over `tMax` steps (`CosineAnnealingLR`, one half-period).
public struct CosineAnnealingLR: LRSchedule {
    public var tMax: Int, etaMin: Double
    public init(tMax: Int, etaMin: Double = 0) { self.tMax = max(1, tMax); self.etaMin = etaMin }
    public func learningRate(afterSteps step: Int, base: Double) -> Double {
        let t = Double(min(step, tMax))
        return etaMin + (base - etaMin) * (1 + cos(Double.pi * t / Double(tMax))) / 2
    }
}

/// Linear warm-up from `startFactor × base` to `base` over `warmupSteps`, then cosine annealing to
/// `etaMin` over `cosineSteps` (`SequentialLR(LinearLR, CosineAnnealingLR)`).
public struct WarmupCosineLR: LRSchedule {
    public var warmupSteps: Int, startFactor: Double, cosine: CosineAnnealingLR
    public init(warmupSteps: Int, startFactor: Double = 0.1, cosineSteps: Int, etaMin: Double = 0) {
        self.warmupSteps = max(0, warmupSteps)
        self.startFactor = startFactor
        cosine = CosineAnnealingLR(tMax: cosineSteps, etaMin: etaMin)
    }
    public func learningRate(afterSteps step: Int, base: Double) -> Double {
        if step < warmupSteps {
            return base * (startFactor + (1 - startFactor) * Double(step) / Double(warmupSteps))
        }
        return cosine.learningRate(afterSteps: step - warmupSteps, base: base)
    }
}

/// The 1cycle policy (Smith 2018): cosine rise from `maxLR / divFactor` to `maxLR` over `pctStart` of
/// the steps, then cosine decay to `maxLR / divFactor / finalDivFactor` (`OneCycleLR`, two phases).
public struct OneCycleLR: LRSchedule {
    public var maxLR: Double, totalSteps: Int, pctStart: Double, divFactor: Double, finalDivFactor: Double
    public init(maxLR: Double, totalSteps: Int, pctStart: Double = 0.3, divFactor: Double = 25, finalDivFactor: Double = 1e4) {
        self.maxLR = maxLR
        self.totalSteps = max(2, totalSteps)
        self.pctStart = pctStart
        self.divFactor = divFactor
        self.finalDivFactor = finalDivFactor
    }
    /// `base` is ignored: the cycle is defined by `maxLR`.
    public func learningRate(afterSteps step: Int, base: Double) -> Double {
        let initial = maxLR / divFactor
        let minimum = initial / finalDivFactor
        let warmEnd = pctStart * Double(totalSteps) - 1
        let end = Double(totalSteps - 1)
        let t = Double(min(step, totalSteps - 1))
        func anneal(_ from: Double, _ to: Double, _ pct: Double) -> Double { to + (from - to) / 2 * (cos(Double.pi * pct) + 1) }
        if t <= warmEnd { return anneal(initial, maxLR, t / warmEnd) }
        return anneal(maxLR, minimum, (t - warmEnd) / (end - warmEnd))
    }
}

/// Applies a closed-form schedule to every group of an optimizer, each from its own base rate.
public final class LRScheduler {
    public let optimizer: Optimizer
    public let schedule: any LRSchedule
    public private(set) var stepCount = 0

    /// `stepCount` > 0 continues a schedule where a resumed run stopped.
    public init(_ optimizer: Optimizer, schedule: any LRSchedule, stepCount: Int = 0) throws(LumenError) {
        self.optimizer = optimizer
        self.schedule = schedule
        self.stepCount = max(0, stepCount)
        try apply()
    }

    /// Advances one step (call after `optimizer.step()`); returns the new rate of the first group.
    @discardableResult
    public func step() throws(LumenError) -> Double {
        stepCount += 1
        try apply()
        return optimizer.learningRate
    }

    private func apply() throws(LumenError) {
        for (group, base) in optimizer.baseLearningRates.enumerated() {
            try optimizer.setLearningRate(schedule.learningRate(afterSteps: stepCount, base: base), group: group)
        }
    }
}
