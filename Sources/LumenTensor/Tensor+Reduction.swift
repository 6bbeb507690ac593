import CTorch

extension Tensor {
    /// Sum of all elements, or over `dims`.
    public func sum(dims: [Int] = [], keepDim: Bool = false) throws(LumenError) -> Tensor {
        try Tensor.make("sum") { err in withDims(dims) { lm_sum(handle, $0, $1, keepDim, err) } }
    }

    /// Mean of all elements, or over `dims`.
    public func mean(dims: [Int] = [], keepDim: Bool = false) throws(LumenError) -> Tensor {
        try Tensor.make("mean") { err in withDims(dims) { lm_mean(handle, $0, $1, keepDim, err) } }
    }

    /// Maximum of all elements, or over `dims` (`torch.amax`).
    public func max(dims: [Int] = [], keepDim: Bool = false) throws(LumenError) -> Tensor {
        try Tensor.make("max") { err in withDims(dims) { lm_amax(handle, $0, $1, keepDim, err) } }
    }

    /// Minimum of all elements, or over `dims` (`torch.amin`).
    public func min(dims: [Int] = [], keepDim: Bool = false) throws(LumenError) -> Tensor {
        try Tensor.make("min") { err in withDims(dims) { lm_amin(handle, $0, $1, keepDim, err) } }
    }

    /// Variance (unbiased by default, as in PyTorch).
    public func variance(dims: [Int] = [], unbiased: Bool = true, keepDim: Bool = false) throws(LumenError) -> Tensor {
        try Tensor.make("var") { err in withDims(dims) { lm_var(handle, $0, $1, unbiased, keepDim, err) } }
    }

    /// Index of the maximum over `dim`, or of the flattened tensor when `dim` is nil.
    public func argmax(dim: Int? = nil, keepDim: Bool = false) throws(LumenError) -> Tensor {
        try Tensor.make("argmax") { lm_argmax(handle, Int64(dim ?? 0), dim == nil, keepDim, $0) }
    }

    /// Index of the minimum over `dim`, or of the flattened tensor when `dim` is nil.
    public func argmin(dim: Int? = nil, keepDim: Bool = false) throws(LumenError) -> Tensor {
        try Tensor.make("argmin") { lm_argmin(handle, Int64(dim ?? 0), dim == nil, keepDim, $0) }
    }
}
