import Foundation
import Testing
@testable import LumenTensor

/// Stands in for the store: an actor whose calls make the caller hop off its thread and back.
private actor Elsewhere {
    func call() -> Int { 1 }
}

/// The calling thread's name as the system sees it (synchronous: `Thread.current` is not for async code).
private func threadName() -> String { "\(pthread_self()) \(Thread.current.name ?? "") \(ComputeThread.shared.isCurrent ? "compute" : "elsewhere")" }

@Suite struct ComputeThreadTests {
    /// Work run with `ComputeThread.shared` as the executor preference stays on one thread across awaits,
    /// so that libtorch's kernels keep one OpenMP team.
    @Test func workStaysOnOneThreadAcrossAwaits() async throws {
        let elsewhere = Elsewhere()
        let threads = await withTaskExecutorPreference(ComputeThread.shared) { () async -> Set<String> in
            var seen: Set<String> = []
            for _ in 0..<50 {
                seen.insert(threadName())
                _ = await elsewhere.call()
                await Task.yield()
                seen.insert(threadName())
            }
            return seen
        }
        #expect(threads.count == 1, "\(threads)")
        #expect(threads.first?.hasSuffix(" lumen-compute compute") == true, "\(threads)")
    }

    @Test func tensorsWorkOnTheComputeThread() async throws {
        let sum = try await withTaskExecutorPreference(ComputeThread.shared) { () async throws -> Double in
            let a = try Tensor.ones([64, 64])
            await Task.yield()
            return try a.matmul(a).sum().item()
        }
        #expect(sum == 64 * 64 * 64)
    }
}
