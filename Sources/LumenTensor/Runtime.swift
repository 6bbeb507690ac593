import CTorch
import Foundation

/// Process-wide settings of the native runtime: seeds, threads, grad mode, devices.
public enum Runtime {
    /// Seeds libtorch's generators (`torch.manual_seed`).
    public static func manualSeed(_ seed: UInt64) { lm_manual_seed(seed) }

    /// Intra-op threads used by libtorch. Lumen sets it to all cores at start-up (libtorch's default here is 1).
    public static var threads: Int {
        get { Int(lm_get_num_threads()) }
        set { lm_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Whether the linked libtorch can use a CUDA device.
    public static var cudaAvailable: Bool { lm_cuda_is_available() }
    public static var cudaDeviceCount: Int { Int(lm_cuda_device_count()) }
    /// Version of the linked libtorch (`1.13.1`).
    public static var libtorchVersion: String { String(cString: lm_libtorch_version()) }

    /// Whether operations on this thread record autograd history.
    public static var isGradEnabled: Bool { lm_is_grad_enabled() }

    /// Sets the thread count to every core once per process, unless `LUMEN_THREADS` says otherwise.
    static let configureThreads: Void = {
        let env = ProcessInfo.processInfo.environment["LUMEN_THREADS"].flatMap(Int.init)
        lm_set_num_threads(Int32(max(1, env ?? ProcessInfo.processInfo.activeProcessorCount)))
    }()
}

/// Runs `body` without recording autograd history (`torch.no_grad()`), restoring the previous mode after.
public func withNoGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    let previous = lm_set_grad_enabled(false)
    defer { _ = lm_set_grad_enabled(previous) }
    return try body()
}

/// Runs `body` with autograd recording on (`torch.enable_grad()`).
public func withGrad<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    let previous = lm_set_grad_enabled(true)
    defer { _ = lm_set_grad_enabled(previous) }
    return try body()
}
