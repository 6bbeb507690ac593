import CTorch

extension Tensor {
    /// Whether autograd records operations on this tensor (a leaf that will receive `grad`).
    public var requiresGrad: Bool {
        get { lm_requires_grad(handle) }
    }

    /// Turns gradient tracking on or off for a leaf tensor; returns `self` for chaining.
    @discardableResult
    public func requiringGrad(_ flag: Bool = true) throws(LumenError) -> Tensor {
        _ = try torchCall("requires_grad") { lm_set_requires_grad(handle, flag, $0) }
        return self
    }

    /// Back-propagates from this tensor; `gradient` may be omitted for a scalar.
    public func backward(_ gradient: Tensor? = nil, retainGraph: Bool = false) throws(LumenError) {
        let status = try torchCall("backward") { lm_backward(handle, gradient?.handle, retainGraph, $0) }
        withExtendedLifetime(gradient) {}
        if status != 0 { throw .torch(op: "backward", message: "failed") }
    }

    /// The gradient accumulated by `backward`, or nil before any.
    public var grad: Tensor? {
        var err = lm_error(failed: 0, message: nil)
        let handle = lm_grad(self.handle, &err)
        lm_error_clear(&err)
        return handle.map { Tensor(owning: $0) }
    }

    /// Forgets the accumulated gradient (`param.grad = None`).
    public func zeroGrad() throws(LumenError) {
        _ = try torchCall("zero_grad") { lm_zero_grad(handle, $0) }
    }

    /// The same data cut from autograd history.
    public func detach() throws(LumenError) -> Tensor { try unary("detach", lm_detach) }

    // MARK: In-place updates (outside autograd)

    /// Copies `source`'s values into this tensor (with broadcasting and dtype conversion).
    public func copy(from source: Tensor) throws(LumenError) {
        _ = try torchCall("copy_") { lm_copy_(handle, source.handle, $0) }
    }

    /// Makes this tensor hold `source`'s data (another device or dtype) while staying the same object,
    /// so optimizers and modules that hold it see the change.
    public func setData(_ source: Tensor) throws(LumenError) {
        _ = try torchCall("set_data") { lm_set_data(handle, source.handle, $0) }
    }

    /// Sets every element to `value`.
    public func fill(_ value: Double) throws(LumenError) {
        _ = try torchCall("fill_") { lm_fill_(handle, value, $0) }
    }

    /// Fills with samples uniform in [low, high).
    public func fillUniform(_ low: Double, _ high: Double) throws(LumenError) {
        _ = try torchCall("uniform_") { lm_uniform_(handle, low, high, $0) }
    }

    /// Fills with normal samples.
    public func fillNormal(mean: Double = 0, std: Double = 1) throws(LumenError) {
        _ = try torchCall("normal_") { lm_normal_(handle, mean, std, $0) }
    }

    /// `self += alpha * other`, in place.
    public func addInPlace(_ other: Tensor, alpha: Double = 1) throws(LumenError) {
        _ = try torchCall("add_") { lm_add_(handle, other.handle, alpha, $0) }
    }

    /// `self *= factor`, in place.
    public func scaleInPlace(_ factor: Double) throws(LumenError) {
        _ = try torchCall("mul_") { lm_mul_scalar_(handle, factor, $0) }
    }

    /// `relu_()`: overwrites this tensor with its ReLU, recorded by autograd, and returns it. Only for a tensor that
    /// nothing else reads afterwards (a layer's fresh output), as torchvision's `ReLU(inplace=True)`.
    @discardableResult
    public func reluInPlace() throws(LumenError) -> Tensor {
        _ = try torchCall("relu_") { lm_relu_inplace(handle, $0) }
        return self
    }

    /// `self += other`, recorded by autograd (a residual connection), returning `self`.
    @discardableResult
    public func addRecordedInPlace(_ other: Tensor) throws(LumenError) -> Tensor {
        _ = try torchCall("add_") { lm_add_inplace(handle, other.handle, $0) }
        return self
    }
}

/// Scales the gradients of `parameters` so that their joint L2 norm is at most `maxNorm`
/// (`torch.nn.utils.clip_grad_norm_`); returns the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Double) throws(LumenError) -> Double {
    try Tensor.withHandles(parameters) { (handles, n) throws(LumenError) -> Double in
        try torchCall("clip_grad_norm") { lm_clip_grad_norm(handles, n, maxNorm, $0) }
    }
}
