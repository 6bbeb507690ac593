import Foundation
import LumenImaging
import LumenInference
import LumenTensor

/// How requests to one model version are gathered into batches.
public struct BatchingOptions: Sendable, Equatable {
    /// How long the first request of a batch waits for others.
    public var window: Double = 0.005
    /// Most images run as one batch.
    public var maxBatch = 32
    /// Most images waiting per model version; beyond it requests are answered 503 with `Retry-After`.
    public var queueCapacity = 256
    /// A request still waiting after this many seconds is answered 503 instead of being run.
    public var timeout: Double = 30

    public init() {}
}

/// What a request asks of a model's compute thread.
/// `@unchecked Sendable`: the closure is created by one request, handed to the pool once and run once on
/// a compute thread; nothing else calls it.
enum ComputeWork: @unchecked Sendable {
    /// Preprocessed planes, run with other requests' planes as one batch.
    case predict([Plane])
    /// Anything else that needs the network (Grad-CAM, embeddings, warm-up), run alone.
    case custom((Predictor) throws -> any Sendable)
}

/// What a request gets back.
/// `@unchecked Sendable`: `value` holds what a `Sendable`-typed `run` body returned (checked at `run`).
enum ComputeResult: @unchecked Sendable {
    case predictions([Prediction], batchSize: Int, embeddings: [[Float]]?, logits: [[Float]]?)
    case value(any Sendable)
}

/// One request waiting for a model version.
/// `@unchecked Sendable`: immutable; the continuation is resumed exactly once, by the thread that took the job.
final class ComputeJob: @unchecked Sendable {
    let work: ComputeWork
    let images: Int
    let enqueued: Double
    let continuation: CheckedContinuation<ComputeResult, any Error>

    init(work: ComputeWork, enqueued: Double, continuation: CheckedContinuation<ComputeResult, any Error>) {
        self.work = work
        if case .predict(let planes) = work { images = planes.count } else { images = 1 }
        self.enqueued = enqueued
        self.continuation = continuation
    }
}

/// The queue of one model version: requests wait here until a compute thread takes them as a batch.
/// `@unchecked Sendable`: its mutable state (`queue`, `queuedImages`, `busy`, `retiring`) is only touched
/// while holding the pool's condition lock; the rest is immutable.
public final class Batcher: @unchecked Sendable {
    public let predictor: Predictor
    public let options: BatchingOptions
    weak var pool: ComputePool?
    var queue: [ComputeJob] = []
    var queuedImages = 0
    var busy = false
    /// Set when a newer version took over: the batcher leaves the pool once its queue is empty.
    var retiring = false
    /// Requests routed to this version that are still being read and preprocessed: while none is, the
    /// queue runs at once instead of waiting the window for requests that are not coming (one client
    /// pays no batching delay; many clients still batch).
    var arriving = 0
    /// Called on a compute thread after each batch, with its size in images.
    let onBatch: @Sendable (Int) -> Void
    /// What each batch also computes for an input gate: penultimate-layer embeddings, logits rows.
    let embeddings: Bool
    let logits: Bool

    init(predictor: Predictor, options: BatchingOptions, embeddings: Bool = false, logits: Bool = false, onBatch: @escaping @Sendable (Int) -> Void) {
        self.predictor = predictor
        self.options = options
        self.embeddings = embeddings
        self.logits = logits
        self.onBatch = onBatch
    }

    /// Images waiting now.
    public var depth: Int { pool?.withLock { queuedImages } ?? 0 }

    /// Marks a request as on its way to this queue (being read and preprocessed) until `body` returns.
    func arriving<T>(_ body: () async throws -> T) async rethrows -> T {
        guard let pool else { return try await body() }
        pool.withLock { arriving += 1 }
        defer { pool.signalArrival { self.arriving -= 1 } }
        return try await body()
    }

    /// Predictions for preprocessed planes, batched with other requests; throws `ServingError.overloaded`
    /// at once when the queue is full, `.timedOut` when the request waited too long.
    func predict(_ planes: [Plane]) async throws -> (predictions: [Prediction], batchSize: Int, embeddings: [[Float]]?, logits: [[Float]]?) {
        guard case .predictions(let p, let size, let e, let l) = try await submit(.predict(planes)) else { throw ServingError.internalError("unexpected result") }
        return (p, size, e, l)
    }

    /// Runs `body` with the network on a compute thread, in turn with the batches.
    func run<T: Sendable>(_ body: @escaping (Predictor) throws -> T) async throws -> T {
        guard case .value(let v) = try await submit(.custom { try body($0) }), let value = v as? T else { throw ServingError.internalError("unexpected result") }
        return value
    }

    func submit(_ work: ComputeWork) async throws -> ComputeResult {
        guard let pool else { throw ServingError.notReady("the model is being unloaded") }
        return try await withCheckedThrowingContinuation { continuation in
            pool.enqueue(ComputeJob(work: work, enqueued: monotonicSeconds(), continuation: continuation), on: self)
        }
    }
}

/// Dedicated compute threads that run every model's batches: libtorch work never runs on an event-loop
/// thread or on Swift's cooperative pool. Each thread keeps its own OpenMP team; with N threads each uses
/// cores / N intra-op threads, so that together they fill the machine without oversubscribing it.
///
/// `@unchecked Sendable`: `batchers`, `next` and `started` are only touched while holding `condition`, a
/// condition variable (which `Locked` cannot offer: the threads wait on it for work and deadlines).
public final class ComputePool: @unchecked Sendable {
    public let threads: Int
    private let condition = NSCondition()
    private var batchers: [Batcher] = []
    private var next = 0
    /// When the last batch of any batcher ended, whether freed memory is waiting to go back to the system, and how
    /// many batches are running now (under `condition`).
    private var lastBatchEnded = 0.0, trimPending = false, running = 0
    private var started = false

    public init(threads: Int) {
        self.threads = max(1, threads)
    }

    /// Runs `change` under the lock and wakes the threads (an arrival finished: a waiting batch may be ready).
    func signalArrival(_ change: () -> Void) {
        condition.lock()
        change()
        condition.broadcast()
        condition.unlock()
    }

    func withLock<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    /// A queue for `predictor`, served by this pool's threads (started with the first one).
    public func batcher(for predictor: Predictor, options: BatchingOptions, embeddings: Bool = false, logits: Bool = false,
                        onBatch: @escaping @Sendable (Int) -> Void = { _ in }) -> Batcher {
        let b = Batcher(predictor: predictor, options: options, embeddings: embeddings, logits: logits, onBatch: onBatch)
        b.pool = self
        condition.lock()
        batchers.append(b)
        let start = !started
        started = true
        condition.unlock()
        if start { startThreads() }
        return b
    }

    /// Stops serving `batcher` once its queue is empty: the requests already in it are answered, and one
    /// that reaches it later (a request that looked the model up just before the swap) brings it back for
    /// as long as it takes to answer.
    public func retire(_ batcher: Batcher) {
        condition.lock()
        batcher.retiring = true
        removeIfIdle(batcher)
        condition.unlock()
    }

    private func removeIfIdle(_ batcher: Batcher) {
        if batcher.retiring && batcher.queue.isEmpty && !batcher.busy { batchers.removeAll { $0 === batcher } }
    }

    func enqueue(_ job: ComputeJob, on batcher: Batcher) {
        condition.lock()
        if !batchers.contains(where: { $0 === batcher }) { batchers.append(batcher) }
        if batcher.queuedImages > 0 && batcher.queuedImages + job.images > batcher.options.queueCapacity {
            condition.unlock()
            job.continuation.resume(throwing: ServingError.overloaded(retryAfter: 1))
            return
        }
        batcher.queue.append(job)
        batcher.queuedImages += job.images
        condition.broadcast()
        condition.unlock()
    }

    private func startThreads() {
        let perThread = max(1, ProcessInfo.processInfo.activeProcessorCount / threads)
        for i in 0..<threads {
            let thread = Thread { [self] in
                // The name `top -H` and `perf` show (Foundation's Thread.name does not always reach the kernel on Linux).
                Runtime.nameCurrentThread("lumen-infer-\(i)")
                Runtime.threads = perThread
                serve()
            }
            thread.name = "lumen-infer-\(i)"
            thread.stackSize = 16 << 20
            thread.start()
        }
    }

    /// Takes the next ready batch (a full one, or one whose first request has waited the window) and runs it.
    private func serve() {
        condition.lock()
        while true {
            let now = monotonicSeconds()
            var deadline = Double.infinity
            var taken: (Batcher, [ComputeJob], expired: [ComputeJob])?
            for k in 0..<batchers.count {
                let b = batchers[(next + k) % batchers.count]
                guard !b.busy, let first = b.queue.first else { continue }
                let custom: Bool
                if case .custom = first.work { custom = true } else { custom = false }
                if custom || b.queuedImages >= b.options.maxBatch || now - first.enqueued >= b.options.window || b.arriving == 0 {
                    let (jobs, expired) = take(from: b, now: now)
                    taken = (b, jobs, expired)
                    next = (next + k + 1) % batchers.count
                    break
                }
                deadline = min(deadline, first.enqueued + b.options.window)
            }
            guard let (batcher, jobs, expired) = taken else {
                // Freed activations and request buffers stay in glibc's per-thread arenas (the allocator is tuned
                // to keep memory for training's speed): handed back once the pool has had no batch for a second.
                // Not between batches under load: trimming a heap that a burst has grown takes tens of
                // milliseconds, which the next request would wait for.
                if !deadline.isFinite && trimPending && running == 0 {
                    if now - lastBatchEnded >= 1 {
                        trimPending = false
                        condition.unlock()
                        Runtime.releaseFreeMemory()
                        condition.lock()
                    } else {
                        _ = condition.wait(until: Date(timeIntervalSinceNow: 1 - (now - lastBatchEnded)))
                    }
                    continue
                }
                if deadline.isFinite {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: max(0, deadline - now)))
                } else {
                    condition.wait()
                }
                continue
            }
            batcher.busy = true
            running += 1
            condition.unlock()
            for job in expired { job.continuation.resume(throwing: ServingError.timedOut(seconds: batcher.options.timeout)) }
            if !jobs.isEmpty { run(jobs, on: batcher) }
            condition.lock()
            batcher.busy = false
            running -= 1
            removeIfIdle(batcher)
            lastBatchEnded = monotonicSeconds()
            trimPending = true
            condition.broadcast()
        }
    }

    /// Removes the next batch from `b`'s queue (lock held): one custom job alone, or requests up to
    /// `maxBatch` images (at least one request); requests past their timeout come back apart.
    private func take(from b: Batcher, now: Double) -> (jobs: [ComputeJob], expired: [ComputeJob]) {
        var jobs: [ComputeJob] = [], expired: [ComputeJob] = []
        var images = 0
        while let job = b.queue.first {
            if now - job.enqueued > b.options.timeout {
                expired.append(job)
            } else if case .custom = job.work {
                guard jobs.isEmpty else { break }
                jobs.append(job)
                b.queue.removeFirst()
                b.queuedImages -= job.images
                break
            } else {
                if images > 0 && images + job.images > b.options.maxBatch { break }
                jobs.append(job)
                images += job.images
            }
            b.queue.removeFirst()
            b.queuedImages -= job.images
        }
        return (jobs, expired)
    }

    private func run(_ jobs: [ComputeJob], on batcher: Batcher) {
        let predictor = batcher.predictor
        if case .custom(let body) = jobs[0].work {
            do { jobs[0].continuation.resume(returning: .value(try body(predictor))) } catch { jobs[0].continuation.resume(throwing: error) }
            return
        }
        // Planes of one size run as one batch (the preprocessing normally gives every image the model's size).
        var groups: [[Int]: [(job: Int, plane: Int)]] = [:]
        var planes: [[Plane]] = []
        for (j, job) in jobs.enumerated() {
            guard case .predict(let p) = job.work else { continue }
            planes.append(p)
            for (i, plane) in p.enumerated() { groups[[plane.width, plane.height, plane.channels], default: []].append((j, i)) }
        }
        var answers = planes.map { [Prediction?](repeating: nil, count: $0.count) }
        var embeddings = planes.map { [[Float]?](repeating: nil, count: $0.count) }
        var logitRows = planes.map { [[Float]?](repeating: nil, count: $0.count) }
        var failures: [Int: any Error] = [:]
        let total = planes.reduce(0) { $0 + $1.count }
        for members in groups.values {
            do {
                let batch = try predictor.batch(members.map { planes[$0.job][$0.plane] })
                let output = try predictor.predict(batch: batch, embeddings: batcher.embeddings)
                for (m, prediction) in zip(members, output.predictions) { answers[m.job][m.plane] = prediction }
                if let rows = output.embeddings {
                    for (m, e) in zip(members, rows) { embeddings[m.job][m.plane] = e }
                }
                if batcher.logits, output.logits.shape.count == 2 {
                    let k = output.logits.shape[1], values = try output.logits.floats()
                    for (i, m) in members.enumerated() { logitRows[m.job][m.plane] = Array(values[i * k..<(i + 1) * k]) }
                }
            } catch {
                for m in members { failures[m.job] = error }
            }
        }
        batcher.onBatch(total)
        for (j, job) in jobs.enumerated() {
            if let error = failures[j] {
                job.continuation.resume(throwing: error)
            } else {
                job.continuation.resume(returning: .predictions(answers[j].map { $0! }, batchSize: total,
                                                                embeddings: batcher.embeddings ? embeddings[j].map { $0 ?? [] } : nil,
                                                                logits: batcher.logits ? logitRows[j].map { $0 ?? [] } : nil))
            }
        }
    }
}

/// Seconds on a clock that never jumps (for windows and timeouts).
func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}
