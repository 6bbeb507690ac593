import CTorch

extension Tensor {
    /// Same elements in a new shape (a view when possible); one dimension may be -1.
    public func reshape(_ shape: [Int]) throws(LumenError) -> Tensor {
        try Tensor.make("reshape") { err in withDims(shape) { lm_reshape(handle, $0, $1, err) } }
    }

    /// A view with a new shape; fails when the memory layout does not allow one.
    public func view(_ shape: [Int]) throws(LumenError) -> Tensor {
        try Tensor.make("view") { err in withDims(shape) { lm_view(handle, $0, $1, err) } }
    }

    /// Broadcasts size-1 dimensions to `shape` without copying.
    public func expand(_ shape: [Int]) throws(LumenError) -> Tensor {
        try Tensor.make("expand") { err in withDims(shape) { lm_expand(handle, $0, $1, err) } }
    }

    public func permute(_ dims: [Int]) throws(LumenError) -> Tensor {
        try Tensor.make("permute") { err in withDims(dims) { lm_permute(handle, $0, $1, err) } }
    }

    public func transpose(_ dim0: Int, _ dim1: Int) throws(LumenError) -> Tensor {
        try Tensor.make("transpose") { lm_transpose(handle, Int64(dim0), Int64(dim1), $0) }
    }

    public func flatten(startDim: Int = 0, endDim: Int = -1) throws(LumenError) -> Tensor {
        try Tensor.make("flatten") { lm_flatten(handle, Int64(startDim), Int64(endDim), $0) }
    }

    /// Removes size-1 dimensions: all of them, or only `dim`.
    public func squeeze(_ dim: Int? = nil) throws(LumenError) -> Tensor {
        try Tensor.make("squeeze") { lm_squeeze(handle, Int64(dim ?? 0), dim == nil, $0) }
    }

    public func unsqueeze(_ dim: Int) throws(LumenError) -> Tensor {
        try Tensor.make("unsqueeze") { lm_unsqueeze(handle, Int64(dim), $0) }
    }

    /// A contiguous copy when the layout is not already contiguous.
    public func contiguous() throws(LumenError) -> Tensor { try unary("contiguous", lm_contiguous) }
    /// The same values stored channels-last (NHWC) for a 4-D tensor: convolutions on CPU run faster on it.
    /// Shape and indexing are unchanged; only the memory order differs.
    public func channelsLast() throws(LumenError) -> Tensor {
        try Tensor.make("channels_last") { lm_channels_last(handle, $0) }
    }

    /// Whether the tensor is stored channels-last.
    public var isChannelsLast: Bool { lm_is_channels_last(handle) }

    /// The same values in oneDNN's opaque blocked layout, for inference: convolutions packed with
    /// `packedConv2d`, ReLU, pooling and sums keep it; `dense()` (or reading the values) brings it back.
    public func mkldnn() throws(LumenError) -> Tensor {
        try Tensor.make("to_mkldnn") { lm_to_mkldnn(handle, $0) }
    }

    /// A strided (ordinary) tensor; `self` when it is one already.
    public func dense() throws(LumenError) -> Tensor {
        isMkldnn ? try Tensor.make("to_dense") { lm_to_dense(handle, $0) } : self
    }

    /// Whether the tensor is in oneDNN's opaque layout (`mkldnn()`).
    public var isMkldnn: Bool { lm_is_mkldnn(handle) }

    /// A deep copy that keeps autograd history.
    public func clone() throws(LumenError) -> Tensor { try unary("clone", lm_clone) }

    /// Concatenates along an existing dimension.
    public static func cat(_ tensors: [Tensor], dim: Int = 0) throws(LumenError) -> Tensor {
        try withHandles(tensors) { (handles: UnsafePointer<OpaquePointer?>?, n: Int64) throws(LumenError) -> Tensor in
            try make("cat") { lm_cat(handles, n, Int64(dim), $0) }
        }
    }

    /// Stacks along a new dimension.
    public static func stack(_ tensors: [Tensor], dim: Int = 0) throws(LumenError) -> Tensor {
        try withHandles(tensors) { (handles: UnsafePointer<OpaquePointer?>?, n: Int64) throws(LumenError) -> Tensor in
            try make("stack") { lm_stack(handles, n, Int64(dim), $0) }
        }
    }

    /// Splits into pieces of `size` along `dim` (the last may be smaller).
    public func split(_ size: Int, dim: Int = 0) throws(LumenError) -> [Tensor] {
        guard size > 0 else { throw .invalidArgument(field: "split size", reason: "must be positive, got \(size)") }
        let length = try dimSize(dim)
        let capacity = Swift.max(1, (length + size - 1) / size)
        var out = [OpaquePointer?](repeating: nil, count: capacity)
        let n = try torchCall("split") { err in
            out.withUnsafeMutableBufferPointer { lm_split(handle, Int64(size), Int64(dim), $0.baseAddress, Int64(capacity), err) }
        }
        return out.prefix(Int(n)).compactMap { $0 }.map { Tensor(owning: $0) }
    }

    /// Elements at `index` (int64) along `dim`.
    public func indexSelect(dim: Int, index: Tensor) throws(LumenError) -> Tensor {
        try Tensor.make("index_select") { lm_index_select(handle, Int64(dim), index.handle, $0) }
    }

    /// A view of `start..<end` with `step` along `dim` (Python's `t[start:end:step]`; negatives count from the end).
    public func slice(dim: Int, start: Int = 0, end: Int = Int.max, step: Int = 1) throws(LumenError) -> Tensor {
        try Tensor.make("slice") { lm_slice(handle, Int64(dim), Int64(start), Int64(end), Int64(step), $0) }
    }

    /// The sub-tensor at `index` along `dim`, removing that dimension.
    public func select(dim: Int, index: Int) throws(LumenError) -> Tensor {
        try Tensor.make("select") { lm_select(handle, Int64(dim), Int64(index), $0) }
    }

    /// `t[i]`: the sub-tensor at `i` along the first dimension.
    public subscript(_ index: Int) -> Tensor {
        get throws(LumenError) { try select(dim: 0, index: index) }
    }

    /// `t[a..<b]`: a slice along the first dimension.
    public subscript(_ range: Range<Int>) -> Tensor {
        get throws(LumenError) { try slice(dim: 0, start: range.lowerBound, end: range.upperBound) }
    }

    /// One-hot encoding of int64 class indices (adds a last dimension of `classes`).
    public func oneHot(classes: Int) throws(LumenError) -> Tensor {
        try Tensor.make("one_hot") { lm_one_hot(handle, Int64(classes), $0) }
    }

    /// Size of one dimension; negative indices count from the end.
    public func dimSize(_ dim: Int) throws(LumenError) -> Int {
        let dims = shape
        let d = dim < 0 ? dim + dims.count : dim
        guard d >= 0, d < dims.count else {
            throw .invalidArgument(field: "dim", reason: "\(dim) is out of range for a \(dims.count)-D tensor")
        }
        return dims[d]
    }

    static func withHandles<R>(_ tensors: [Tensor], _ body: (UnsafePointer<OpaquePointer?>?, Int64) throws(LumenError) -> R) throws(LumenError) -> R {
        let handles: [OpaquePointer?] = tensors.map { $0.handle }
        return try withExtendedLifetime(tensors) { () throws(LumenError) -> R in
            try handles.withUnsafeBufferPointer { (buffer) throws(LumenError) -> R in
                try body(buffer.baseAddress, Int64(buffer.count))
            }
        }
    }
}
