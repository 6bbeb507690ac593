import CTorch
import Foundation

/// Process-wide settings of the native runtime: seeds, threads, grad mode, devices.
public enum Runtime {
    /// Seeds libtorch's generators (`torch.manual_seed`).
    public static func manualSeed(_ seed: UInt64) { lm_manual_seed(seed) }

    /// The CPU generator's state (`torch.get_rng_state()`), saved with a checkpoint so that a resumed run
    /// draws the same dropout masks as one that never stopped.
    public static func rngState() -> [UInt8] {
        let n = lm_cpu_rng_state(nil, 0)
        guard n > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(n))
        _ = bytes.withUnsafeMutableBufferPointer { lm_cpu_rng_state($0.baseAddress, n) }
        return bytes
    }

    /// Restores a state from `rngState()` (`torch.set_rng_state`).
    public static func setRNGState(_ bytes: [UInt8]) throws(LumenError) {
        guard !bytes.isEmpty else { throw .invalidArgument(field: "rng state", reason: "empty") }
        _ = try torchCall("set_rng_state") { err in bytes.withUnsafeBufferPointer { lm_set_cpu_rng_state($0.baseAddress, Int64($0.count), err) } }
    }

    /// Intra-op threads used by libtorch. Lumen sets it to all cores at start-up (libtorch's default here is 1).
    public static var threads: Int {
        get { Int(lm_get_num_threads()) }
        set { lm_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Names the calling thread as `top -H` and `perf` show it (at most 15 characters on Linux).
    public static func nameCurrentThread(_ name: String) { lm_name_current_thread(name) }

    /// Whether the linked libtorch can use a CUDA device.
    public static var cudaAvailable: Bool { lm_cuda_is_available() }
    public static var cudaDeviceCount: Int { Int(lm_cuda_device_count()) }
    /// Version of the linked libtorch (`1.13.1`).
    public static var libtorchVersion: String { String(cString: lm_libtorch_version()) }

    /// Whether operations on this thread record autograd history.
    public static var isGradEnabled: Bool { lm_is_grad_enabled() }

    /// Returns freed heap memory to the system (glibc's `malloc_trim`): after loading a model for serving, where the
    /// checkpoint's copies and the warm-up's activations would otherwise stay in the process's resident set.
    public static func releaseFreeMemory() {
        _ = configureThreads
        _ = lm_release_free_memory()
    }

    /// Caps glibc's malloc arenas at `count` (`M_ARENA_MAX`) unless `MALLOC_ARENA_MAX` says otherwise; call before
    /// starting threads. glibc gives each new thread an arena of its own, up to 8 per core, and each arena keeps the
    /// blocks freed in it: in a server, where event-loop threads decode uploads and a compute thread runs batches, that
    /// is tens of MB held in arenas that the next request may not use. `lumen serve` caps them at its compute threads
    /// plus one (peak RSS under load 415–451 → 377–383 MB for ResNet-18, the same throughput). Returns whether the
    /// cap was set.
    @discardableResult
    public static func limitAllocatorArenas(to count: Int) -> Bool {
        if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] != nil { return false }
        return lm_malloc_limit_arenas(Int32(clamping: max(1, count))) == 1
    }

    /// The malloc arenas this process has made (glibc's `malloc_info`), nil where there is no such report.
    public static var allocatorArenas: Int? {
        let n = lm_malloc_arena_count()
        return n >= 0 ? Int(n) : nil
    }

    /// Sets the thread count to every core once per process, unless `LUMEN_THREADS` says otherwise, and keeps freed
    /// tensor memory for reuse (without it a training step spends a tenth of its time in page faults).
    static let configureThreads: Void = {
        lm_tune_allocator()
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
