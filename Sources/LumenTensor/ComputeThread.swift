import Foundation

/// A task executor with one thread of its own, for long libtorch work (training, evaluation).
///
/// libtorch parallelises its kernels with OpenMP, and libgomp keeps one pool of worker threads per
/// *calling* thread. Async code resumes on any of Swift's cooperative threads after each `await`, so
/// a training loop that logs metrics would grow an OpenMP team on every cooperative thread; libgomp
/// then counts more threads than cores and stops spinning at its barriers, sleeping and waking at
/// every kernel (tens of thousands of context switches per epoch, about a fifth of the speed).
/// Running the work with `ComputeThread.shared` as the task's executor preference keeps every kernel
/// on one thread, hence one team:
///
///     try await withTaskExecutorPreference(ComputeThread.shared) { try await train() }
///
/// `@unchecked Sendable`: `jobs` is only touched while holding `condition`.
public final class ComputeThread: TaskExecutor, @unchecked Sendable {
    /// The process's compute thread, started on first use.
    public static let shared = ComputeThread(name: "lumen-compute")

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    init(name: String) {
        let thread = Thread { [unowned self] in
            Thread.current.name = name  // set from the thread itself, it is what `top -H` and `perf` show
            self.serve()
        }
        thread.name = name
        thread.stackSize = 16 << 20
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        var ready: [UnownedJob] = []
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            swap(&ready, &jobs)
            condition.unlock()
            for job in ready { job.runSynchronously(on: asUnownedTaskExecutor()) }
            ready.removeAll(keepingCapacity: true)
        }
    }
}
