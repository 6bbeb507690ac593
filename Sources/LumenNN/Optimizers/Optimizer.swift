import Foundation
import LumenTensor

/// Parameters that share a learning rate and weight decay (PyTorch's parameter groups), e.g. a
/// pretrained backbone at 1e-4 and a fresh head at 1e-3.
public struct ParameterGroup {
    public var parameters: [Tensor]
    public var learningRate: Double?
    public var weightDecay: Double?

    public init(_ parameters: [Tensor], learningRate: Double? = nil, weightDecay: Double? = nil) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.weightDecay = weightDecay
    }
}

/// A libtorch optimizer (SGD, Adam, AdamW): the update rules and their state (momenta) live in C++,
/// so steps cost what they cost in PyTorch.
public final class Optimizer {
    let native: NativeOptimizer
    /// Initial learning rate of each group, which LR schedules scale from.
    public let baseLearningRates: [Double]

    init(groups: [ParameterGroup], defaultLR: Double, defaultWeightDecay: Double, kind: NativeOptimizerKind) throws(LumenError) {
        guard let first = groups.first, !groups.contains(where: { $0.parameters.isEmpty }) else {
            throw .invalidArgument(field: "optimizer parameters", reason: "every parameter group needs at least one tensor")
        }
        for lr in [defaultLR] + groups.compactMap(\.learningRate) where !(lr >= 0 && lr.isFinite) {
            throw .invalidArgument(field: "learning rate", reason: "must be ≥ 0 and finite, got \(lr)")
        }
        native = try NativeOptimizer(kind, parameters: first.parameters, lr: first.learningRate ?? defaultLR, weightDecay: first.weightDecay ?? defaultWeightDecay,
                                     extraGroups: groups.dropFirst().map { ($0.parameters, $0.learningRate ?? defaultLR, $0.weightDecay ?? defaultWeightDecay) })
        baseLearningRates = groups.map { $0.learningRate ?? defaultLR }
    }

    /// The tensors being optimised (kept alive while the optimizer is).
    public var parameters: [Tensor] { native.parameters }

    /// Applies one update from the current gradients.
    public func step() throws(LumenError) { try native.step() }

    /// Clears the gradients of every optimised parameter. By default they are dropped (`set_to_none`,
    /// PyTorch 2's default), which saves a memset and an addition per parameter on the next backward.
    public func zeroGrad(setToNone: Bool = true) throws(LumenError) { try native.zeroGrad(setToNone: setToNone) }

    public var groupCount: Int { native.groupCount }

    /// Learning rate of a group.
    public func learningRate(group: Int = 0) -> Double { native.learningRate(group: group) }

    /// Sets the learning rate of one group.
    public func setLearningRate(_ lr: Double, group: Int) throws(LumenError) { try native.setLearningRate(lr, group: group) }

    /// Learning rate of the first group.
    public var learningRate: Double { learningRate(group: 0) }

    /// Writes the optimizer's state (momentum buffers, Adam moments and step counts, learning rates) to
    /// `url`, for `--resume` (libtorch's archive format, like `torch.save(optimizer.state_dict())` in C++).
    public func save(to url: URL) throws(LumenError) { try native.save(to: url.path) }

    /// Reads state written by `save(to:)` into this optimizer (same kind, same parameters).
    public func load(from url: URL) throws(LumenError) { try native.load(from: url.path) }

    /// Number of parameters that have optimizer state (momentum buffers, Adam moments).
    public var stateCount: Int { native.stateCount }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (`torch.optim.SGD`).
public func SGD(_ groups: [ParameterGroup], lr: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) throws(LumenError) -> Optimizer {
    if nesterov && (momentum <= 0 || dampening != 0) {
        throw .invalidArgument(field: "nesterov", reason: "needs momentum > 0 and dampening = 0")
    }
    return try Optimizer(groups: groups, defaultLR: lr, defaultWeightDecay: weightDecay, kind: .sgd(momentum: momentum, dampening: dampening, nesterov: nesterov))
}

/// Adam with L2 weight decay added to the gradient (`torch.optim.Adam`).
public func Adam(_ groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                 weightDecay: Double = 0, amsgrad: Bool = false) throws(LumenError) -> Optimizer {
    try Optimizer(groups: groups, defaultLR: lr, defaultWeightDecay: weightDecay,
                  kind: .adam(beta1: betas.0, beta2: betas.1, eps: eps, amsgrad: amsgrad, decoupledWeightDecay: false))
}

/// Adam with decoupled weight decay (`torch.optim.AdamW`, default decay 0.01).
public func AdamW(_ groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                  weightDecay: Double = 0.01, amsgrad: Bool = false) throws(LumenError) -> Optimizer {
    try Optimizer(groups: groups, defaultLR: lr, defaultWeightDecay: weightDecay,
                  kind: .adam(beta1: betas.0, beta2: betas.1, eps: eps, amsgrad: amsgrad, decoupledWeightDecay: true))
}

/// Convenience: one group of parameters.
public func SGD(_ parameters: [Tensor], lr: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) throws(LumenError) -> Optimizer {
    try SGD([ParameterGroup(parameters)], lr: lr, momentum: momentum, dampening: dampening, weightDecay: weightDecay, nesterov: nesterov)
}

public func Adam(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                 weightDecay: Double = 0, amsgrad: Bool = false) throws(LumenError) -> Optimizer {
    try Adam([ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
}

public func AdamW(_ parameters: [Tensor], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                  weightDecay: Double = 0.01, amsgrad: Bool = false) throws(LumenError) -> Optimizer {
    try AdamW([ParameterGroup(parameters)], lr: lr, betas: betas, eps: eps, weightDecay: weightDecay, amsgrad: amsgrad)
}
