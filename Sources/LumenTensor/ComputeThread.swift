import CTorch
import Foundation

/// A task executor with one thread of its own, for long libtorch work (the trainer runs on it).
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
    /// The serving thread, set once before it runs its first job (read under `condition`).
    private var serving: pthread_t?

    /// Whether the caller is running on this executor's thread.
    public var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        return serving.map { pthread_equal($0, pthread_self()) != 0 } ?? false
    }

    init(name: String) {
        // The thread holds its executor for good: it serves until the process ends.
        let thread = Thread { [self] in
            // What `top -H` and `perf` show. Set with pthreads from the thread itself: a Linux thread starts with
            // its creator's name, and Foundation's `Thread.current.name = …` did not always replace it.
            lm_name_current_thread(name)
            serve()
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
        condition.lock()
        serving = pthread_self()
        condition.unlock()
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
