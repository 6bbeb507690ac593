import Foundation
import CTorch
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
    let handle: OpaquePointer
    /// Initial learning rate of each group, which LR schedules scale from.
    public private(set) var baseLearningRates: [Double]

    init(groups: [ParameterGroup], defaultLR: Double, defaultWeightDecay: Double,
         make: (UnsafePointer<OpaquePointer?>?, Int64, UnsafeMutablePointer<lm_error>) -> OpaquePointer?) throws(LumenError) {
        guard let first = groups.first, !groups.contains(where: { $0.parameters.isEmpty }) else {
            throw .invalidArgument(field: "optimizer parameters", reason: "every parameter group needs at least one tensor")
        }
        guard defaultLR >= 0 else { throw .invalidArgument(field: "learning rate", reason: "must be ≥ 0, got \(defaultLR)") }
        let handle = try Optimizer.withRawHandles(first.parameters) { (ptr, n) throws(LumenError) -> OpaquePointer? in
            try torchCall("optimizer") { make(ptr, n, $0) }
        }
        guard let handle else { throw .torch(op: "optimizer", message: "no result") }
        self.handle = handle
        baseLearningRates = [first.learningRate ?? defaultLR]
        if let lr = first.learningRate { _ = try torchCall("set_lr") { lm_optimizer_set_lr(handle, 0, lr, $0) } }
        for group in groups.dropFirst() {
            let lr = group.learningRate ?? defaultLR
            _ = try Optimizer.withRawHandles(group.parameters) { (ptr, n) throws(LumenError) -> Int32 in
                try torchCall("add_param_group") { lm_optimizer_add_group(handle, ptr, n, lr, group.weightDecay ?? defaultWeightDecay, $0) }
            }
            baseLearningRates.append(lr)
        }
        parameters = groups.flatMap(\.parameters)
    }

    /// The tensors being optimised (kept alive while the optimizer is).
    public let parameters: [Tensor]

    deinit { lm_optimizer_free(handle) }

    /// Applies one update from the current gradients.
    public func step() throws(LumenError) { _ = try torchCall("optimizer step") { lm_optimizer_step(handle, $0) } }

    /// Clears the gradients of every optimised parameter. By default they are dropped (`set_to_none`,
    /// PyTorch 2's default), which saves a memset and an addition per parameter on the next backward.
    public func zeroGrad(setToNone: Bool = true) throws(LumenError) {
        _ = try torchCall("zero_grad") { lm_optimizer_zero_grad(handle, setToNone, $0) }
    }

    public var groupCount: Int { Int(lm_optimizer_group_count(handle)) }

    /// Learning rate of a group.
    public func learningRate(group: Int = 0) -> Double { lm_optimizer_get_lr(handle, Int64(group)) }

    /// Sets the learning rate of one group.
    public func setLearningRate(_ lr: Double, group: Int) throws(LumenError) {
        _ = try torchCall("set_lr") { lm_optimizer_set_lr(handle, Int64(group), lr, $0) }
    }

    /// Learning rate of the first group.
    public var learningRate: Double { learningRate(group: 0) }

    /// Writes the optimizer's state (momentum buffers, Adam moments and step counts, learning rates) to
    /// `url`, for `--resume` (libtorch's archive format, like `torch.save(optimizer.state_dict())` in C++).
    public func save(to url: URL) throws(LumenError) {
        _ = try torchCall("optimizer save") { lm_optimizer_save(handle, url.path, $0) }
    }

    /// Reads state written by `save(to:)` into this optimizer (same kind, same parameters).
    public func load(from url: URL) throws(LumenError) {
        _ = try torchCall("optimizer load") { lm_optimizer_load(handle, url.path, $0) }
    }

    /// Number of parameters that have optimizer state (momentum buffers, Adam moments).
    public var stateCount: Int { Int(lm_optimizer_state_count(handle)) }

    static func withRawHandles<R>(_ tensors: [Tensor], _ body: (UnsafePointer<OpaquePointer?>?, Int64) throws(LumenError) -> R) throws(LumenError) -> R {
        let handles: [OpaquePointer?] = tensors.map { $0.bridgeHandle }
        return try withExtendedLifetime(tensors) { () throws(LumenError) -> R in
            try handles.withUnsafeBufferPointer { (b) throws(LumenError) -> R in try body(b.baseAddress, Int64(b.count)) }
        }
    }
}

/// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay (`torch.optim.SGD`).
public func SGD(_ groups: [ParameterGroup], lr: Double, momentum: Double = 0, dampening: Double = 0,
                weightDecay: Double = 0, nesterov: Bool = false) throws(LumenError) -> Optimizer {
    if nesterov && (momentum <= 0 || dampening != 0) {
        throw .invalidArgument(field: "nesterov", reason: "needs momentum > 0 and dampening = 0")
    }
    return try Optimizer(groups: groups, defaultLR: lr, defaultWeightDecay: weightDecay) { p, n, err in
        lm_sgd_new(p, n, lr, momentum, dampening, weightDecay, nesterov, err)
    }
}

/// Adam with L2 weight decay added to the gradient (`torch.optim.Adam`).
public func Adam(_ groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                 weightDecay: Double = 0, amsgrad: Bool = false) throws(LumenError) -> Optimizer {
    try Optimizer(groups: groups, defaultLR: lr, defaultWeightDecay: weightDecay) { p, n, err in
        lm_adam_new(p, n, lr, betas.0, betas.1, eps, weightDecay, amsgrad, false, err)
    }
}

/// Adam with decoupled weight decay (`torch.optim.AdamW`, default decay 0.01).
public func AdamW(_ groups: [ParameterGroup], lr: Double = 1e-3, betas: (Double, Double) = (0.9, 0.999), eps: Double = 1e-8,
                  weightDecay: Double = 0.01, amsgrad: Bool = false) throws(LumenError) -> Optimizer {
    try Optimizer(groups: groups, defaultLR: lr, defaultWeightDecay: weightDecay) { p, n, err in
        lm_adam_new(p, n, lr, betas.0, betas.1, eps, weightDecay, amsgrad, true, err)
    }
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
