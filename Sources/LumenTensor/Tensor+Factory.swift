import CTorch

/// Passes `dims` to a bridge call as an `int64_t` array and its length.
@inline(__always)
func withDims<R>(_ dims: [Int], _ body: (UnsafePointer<Int64>?, Int64) -> R) -> R {
    let converted = dims.map(Int64.init)
    return converted.withUnsafeBufferPointer { body($0.baseAddress, Int64($0.count)) }
}

extension Tensor {
    /// Tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(LumenError) -> Tensor {
        try checkShape(shape)
        return try make("zeros") { err in withDims(shape) { lm_zeros($0, $1, dtype.rawValue, err) } }.placed(on: device)
    }

    /// Tensor of ones.
    public static func ones(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(LumenError) -> Tensor {
        try checkShape(shape)
        return try make("ones") { err in withDims(shape) { lm_ones($0, $1, dtype.rawValue, err) } }.placed(on: device)
    }

    /// Tensor filled with one value.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32, device: Device = .cpu) throws(LumenError) -> Tensor {
        try checkShape(shape)
        return try make("full") { err in withDims(shape) { lm_full($0, $1, value, dtype.rawValue, err) } }.placed(on: device)
    }

    /// Values from `start` up to (not including) `end` by `step`, like `torch.arange`.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64) throws(LumenError) -> Tensor {
        try make("arange") { lm_arange(start, end, step, dtype.rawValue, $0) }
    }

    /// Uniform samples in [0, 1).
    public static func rand(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(LumenError) -> Tensor {
        try checkShape(shape)
        return try make("rand") { err in withDims(shape) { lm_rand($0, $1, dtype.rawValue, err) } }.placed(on: device)
    }

    /// Standard normal samples.
    public static func randn(_ shape: [Int], dtype: DType = .float32, device: Device = .cpu) throws(LumenError) -> Tensor {
        try checkShape(shape)
        return try make("randn") { err in withDims(shape) { lm_randn($0, $1, dtype.rawValue, err) } }.placed(on: device)
    }

    /// Integers uniform in [low, high).
    public static func randint(_ low: Int, _ high: Int, _ shape: [Int], dtype: DType = .int64) throws(LumenError) -> Tensor {
        try checkShape(shape)
        return try make("randint") { err in withDims(shape) { lm_randint(Int64(low), Int64(high), $0, $1, dtype.rawValue, err) } }
    }

    /// A random permutation of 0..<n (int64).
    public static func randperm(_ n: Int) throws(LumenError) -> Tensor {
        try make("randperm") { lm_randperm(Int64(n), $0) }
    }

    /// Samples 0/1 with the probabilities held in this tensor (`torch.bernoulli`).
    public func bernoulli() throws(LumenError) -> Tensor {
        try Tensor.make("bernoulli") { lm_bernoulli(handle, $0) }
    }

    /// A tensor of zeros with this tensor's shape, dtype and device.
    public func zerosLike() throws(LumenError) -> Tensor { try Tensor.zeros(shape, dtype: dtype, device: device) }
    /// A tensor of ones with this tensor's shape, dtype and device.
    public func onesLike() throws(LumenError) -> Tensor { try Tensor.ones(shape, dtype: dtype, device: device) }

    private func placed(on device: Device) throws(LumenError) -> Tensor {
        device == .cpu ? self : try to(device: device)
    }
}
