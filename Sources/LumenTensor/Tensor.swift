import CTorch

/// An n-dimensional array in libtorch's memory, with a shape, a dtype, a device and autograd history.
///
/// `Tensor` owns one bridge handle and frees it in `deinit`. Operations return new tensors; the few
/// in-place updates (`copy(from:)`, `fill(_:)`, …) say so in their names and run outside autograd.
///
/// Sendable: the handle is immutable after `init`, libtorch reference counts are atomic, and reads of
/// a tensor from several threads are safe in libtorch; in-place writes from several threads at once are
/// the caller's to order, as in PyTorch.
public final class Tensor: @unchecked Sendable {
    let handle: OpaquePointer

    init(owning handle: OpaquePointer) {
        _ = Runtime.configureThreads
        self.handle = handle
    }

    deinit { lm_tensor_free(handle) }

    /// Wraps a bridge call that returns a new handle.
    static func make(_ op: String, _ body: (UnsafeMutablePointer<lm_error>) -> OpaquePointer?) throws(LumenError) -> Tensor {
        let handle = try torchCall(op, body)
        guard let handle else { throw .torch(op: op, message: "no result") }
        return Tensor(owning: handle)
    }

    // MARK: Inspection

    /// Size of each dimension.
    public var shape: [Int] {
        let n = Int(lm_tensor_ndim(handle))
        var dims = [Int64](repeating: 0, count: n)
        dims.withUnsafeMutableBufferPointer { lm_tensor_shape(handle, $0.baseAddress) }
        return dims.map(Int.init)
    }

    public var rank: Int { Int(lm_tensor_ndim(handle)) }
    public var count: Int { Int(lm_tensor_numel(handle)) }
    public var dtype: DType { DType(rawValue: lm_tensor_dtype(handle)) ?? .float32 }
    public var device: Device {
        lm_tensor_device_type(handle) == Int32(LM_CUDA) ? .cuda(Int(lm_tensor_device_index(handle))) : .cpu
    }

    // MARK: Host data in

    /// Creates a tensor by copying raw little-endian element bytes.
    public convenience init(bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) throws(LumenError) {
        try Tensor.checkShape(shape)
        let dims = shape.map(Int64.init)
        let handle = try torchCall("tensor") { err in
            dims.withUnsafeBufferPointer { lm_tensor_from_data(bytes.baseAddress, Int64(bytes.count), $0.baseAddress, Int64(dims.count), dtype.rawValue, err) }
        }
        guard let handle else { throw .torch(op: "tensor", message: "no result") }
        self.init(owning: handle)
    }

    /// Creates a float32 tensor; `shape` defaults to one dimension of `values.count`.
    public convenience init(_ values: [Float], shape: [Int]? = nil) throws(LumenError) {
        try self.init(elements: values, shape: shape ?? [values.count], dtype: .float32)
    }

    /// Creates a float64 tensor.
    public convenience init(_ values: [Double], shape: [Int]? = nil) throws(LumenError) {
        try self.init(elements: values, shape: shape ?? [values.count], dtype: .float64)
    }

    /// Creates an int64 tensor (labels, indices).
    public convenience init(_ values: [Int64], shape: [Int]? = nil) throws(LumenError) {
        try self.init(elements: values, shape: shape ?? [values.count], dtype: .int64)
    }

    /// Creates a uint8 tensor (8-bit pixels, masks).
    public convenience init(_ values: [UInt8], shape: [Int]? = nil) throws(LumenError) {
        try self.init(elements: values, shape: shape ?? [values.count], dtype: .uint8)
    }

    /// Creates a bool tensor.
    public convenience init(_ values: [Bool], shape: [Int]? = nil) throws(LumenError) {
        try self.init(elements: values.map { $0 ? UInt8(1) : 0 }, shape: shape ?? [values.count], dtype: .bool)
    }

    /// Creates a zero-dimensional tensor.
    public convenience init(scalar: Double, dtype: DType = .float32) throws(LumenError) {
        let handle = try torchCall("tensor") { lm_full(nil, 0, scalar, dtype.rawValue, $0) }
        guard let handle else { throw .torch(op: "tensor", message: "no result") }
        self.init(owning: handle)
    }

    private convenience init<T>(elements: [T], shape: [Int], dtype: DType) throws(LumenError) {
        try Tensor.checkShape(shape)
        let expected = shape.reduce(1, *)
        guard expected == elements.count else {
            throw .invalidArgument(field: "shape", reason: "\(shape) holds \(expected) elements, \(elements.count) given")
        }
        let dims = shape.map(Int64.init)
        let handle = try torchCall("tensor") { err in
            elements.withUnsafeBytes { raw in
                dims.withUnsafeBufferPointer {
                    lm_tensor_from_data(raw.baseAddress, Int64(raw.count), $0.baseAddress, Int64(dims.count), dtype.rawValue, err)
                }
            }
        }
        guard let handle else { throw .torch(op: "tensor", message: "no result") }
        self.init(owning: handle)
    }

    static func checkShape(_ shape: [Int]) throws(LumenError) {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw .invalidArgument(field: "shape", reason: "\(shape) has a negative size")
        }
    }

    // MARK: Host data out

    /// Elements in row-major order as float32 (converting if needed).
    public func floats() throws(LumenError) -> [Float] { try hostArray(.float32, Float.self) }
    /// Elements as float64.
    public func doubles() throws(LumenError) -> [Double] { try hostArray(.float64, Double.self) }
    /// Elements as int64 (floats are truncated toward zero).
    public func int64s() throws(LumenError) -> [Int64] { try hostArray(.int64, Int64.self) }
    /// Elements as uint8 (values are wrapped as in PyTorch's `.to(torch.uint8)`).
    public func uint8s() throws(LumenError) -> [UInt8] { try hostArray(.uint8, UInt8.self) }
    /// Elements as Bool.
    public func bools() throws(LumenError) -> [Bool] { try hostArray(.bool, UInt8.self).map { $0 != 0 } }

    /// The value of a one-element tensor.
    public func item() throws(LumenError) -> Double { try torchCall("item") { lm_tensor_item_double(handle, $0) } }
    /// The value of a one-element tensor as an integer.
    public func itemInt() throws(LumenError) -> Int { Int(try torchCall("item") { lm_tensor_item_int64(handle, $0) }) }

    private func hostArray<T>(_ target: DType, _: T.Type) throws(LumenError) -> [T] {
        let source = (dtype == target && device == .cpu) ? self : try to(target, device: .cpu)
        let n = source.count
        return try torchCall("copy to host") { err in
            [T](unsafeUninitializedCapacity: n) { buffer, initialized in
                let status = lm_tensor_copy_to_host(source.handle, buffer.baseAddress, Int64(n * MemoryLayout<T>.stride), err)
                initialized = status == 0 ? n : 0
            }
        }
    }

    // MARK: Conversion

    /// A copy with another dtype and/or device (returns a tensor sharing storage when nothing changes).
    public func to(_ dtype: DType? = nil, device: Device? = nil) throws(LumenError) -> Tensor {
        let target = device ?? self.device
        if case let .cuda(index) = target, target != self.device {
            let available = Runtime.cudaAvailable ? Runtime.cudaDeviceCount : 0
            guard index < available else {
                throw .invalidArgument(field: "device", reason: available == 0
                    ? "\(target) requested, but this libtorch build has no usable CUDA device (use cpu or auto)"
                    : "\(target) requested, but only \(available) CUDA device(s) exist")
            }
        }
        return try Tensor.make("to") { lm_tensor_to(handle, (dtype ?? self.dtype).rawValue, target.bridgeType, target.bridgeIndex, $0) }
    }

    /// Moves to a device, keeping the dtype.
    public func to(device: Device) throws(LumenError) -> Tensor { try to(nil, device: device) }
}
