import CTorch

/// The update rule an optimizer applies, with its hyper-parameters (libtorch's own implementations).
package enum NativeOptimizerKind: Sendable {
    case sgd(momentum: Double, dampening: Double, nesterov: Bool)
    case adam(beta1: Double, beta2: Double, eps: Double, amsgrad: Bool, decoupledWeightDecay: Bool)
}

/// Owns one libtorch optimizer handle (freed in `deinit`, or at once when building it fails half-way),
/// so that `LumenNN` reaches libtorch only through this module.
package final class NativeOptimizer {
    private let handle: OpaquePointer
    /// The tensors being optimised, kept alive while the optimizer is.
    package let parameters: [Tensor]

    /// An optimizer over the first group; `extraGroups` are added with their own rate and decay.
    package init(_ kind: NativeOptimizerKind, parameters first: [Tensor], lr: Double, weightDecay: Double,
                 extraGroups: [(parameters: [Tensor], lr: Double, weightDecay: Double)]) throws(LumenError) {
        let made = try Self.withRawHandles(first) { (ptr, n) throws(LumenError) -> OpaquePointer? in
            try torchCall("optimizer") { err -> OpaquePointer? in
                switch kind {
                case let .sgd(momentum, dampening, nesterov):
                    return lm_sgd_new(ptr, n, lr, momentum, dampening, weightDecay, nesterov, err)
                case let .adam(beta1, beta2, eps, amsgrad, decoupled):
                    return lm_adam_new(ptr, n, lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled, err)
                }
            }
        }
        guard let made else { throw .torch(op: "optimizer", message: "no result") }
        do {
            for group in extraGroups {
                _ = try Self.withRawHandles(group.parameters) { (ptr, n) throws(LumenError) -> Int32 in
                    try torchCall("add_param_group") { lm_optimizer_add_group(made, ptr, n, group.lr, group.weightDecay, $0) }
                }
            }
        } catch {
            // `deinit` does not run for an object whose init throws: free the half-built optimizer here.
            lm_optimizer_free(made)
            throw error
        }
        handle = made
        parameters = first + extraGroups.flatMap(\.parameters)
    }

    deinit { lm_optimizer_free(handle) }

    package func step() throws(LumenError) { _ = try torchCall("optimizer step") { lm_optimizer_step(handle, $0) } }

    package func zeroGrad(setToNone: Bool) throws(LumenError) {
        _ = try torchCall("zero_grad") { lm_optimizer_zero_grad(handle, setToNone, $0) }
    }

    package var groupCount: Int { Int(lm_optimizer_group_count(handle)) }

    package func learningRate(group: Int) -> Double { lm_optimizer_get_lr(handle, Int64(group)) }

    package func setLearningRate(_ lr: Double, group: Int) throws(LumenError) {
        guard group >= 0, group < groupCount else { throw .invalidArgument(field: "group", reason: "\(group) is outside 0..<\(groupCount)") }
        _ = try torchCall("set_lr") { lm_optimizer_set_lr(handle, Int64(group), lr, $0) }
    }

    package func save(to path: String) throws(LumenError) { _ = try torchCall("optimizer save") { lm_optimizer_save(handle, path, $0) } }

    package func load(from path: String) throws(LumenError) { _ = try torchCall("optimizer load") { lm_optimizer_load(handle, path, $0) } }

    package var stateCount: Int { Int(lm_optimizer_state_count(handle)) }

    private static func withRawHandles<R>(_ tensors: [Tensor], _ body: (UnsafePointer<OpaquePointer?>?, Int64) throws(LumenError) -> R) throws(LumenError) -> R {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try withExtendedLifetime(tensors) { () throws(LumenError) -> R in
            try handles.withUnsafeBufferPointer { (b) throws(LumenError) -> R in try body(b.baseAddress, Int64(b.count)) }
        }
    }
}
