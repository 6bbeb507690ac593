import Foundation
import LumenStore

/// Writes prediction logs to the store in batches, off the request path: an answer never waits for the
/// database. `flush()` (called on shutdown) writes whatever is buffered, so a log the server took is not lost.
public actor PredictionLogger {
    let store: any Store
    let maxBuffered: Int
    private var buffer: [PredictionLog] = []
    private var flushing: Task<Void, Never>?
    private var timer: Task<Void, Never>?
    /// Logs written so far, and logs the store refused (each failure is reported once on stderr).
    public private(set) var written = 0
    public private(set) var failed = 0

    public init(store: any Store, maxBuffered: Int = 256) {
        self.store = store
        self.maxBuffered = maxBuffered
    }

    /// Starts writing the buffer every `interval` seconds.
    public func start(interval: Double = 0.5) {
        guard timer == nil else { return }
        timer = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                await self?.flush()
            }
        }
    }

    /// Takes a log to write later (at the next tick, or now when the buffer is full).
    public func log(_ entry: PredictionLog) {
        buffer.append(entry)
        if buffer.count >= maxBuffered { Task { await self.flush() } }
    }

    /// Writes every buffered log now (and waits for a write already under way).
    public func flush() async {
        while let running = flushing { await running.value }
        guard !buffer.isEmpty else { return }
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        let store = self.store
        let task = Task<Void, Never> {
            do {
                try await store.logPredictions(batch)
                self.record(written: batch.count)
            } catch {
                FileHandle.standardError.write(Data("lumen serve: \(batch.count) prediction log(s) not written: \(error)\n".utf8))
                self.record(failed: batch.count)
            }
        }
        flushing = task
        await task.value
        flushing = nil
    }

    private func record(written n: Int = 0, failed f: Int = 0) {
        written += n
        failed += f
    }

    /// Stops the timer and writes what is left.
    public func close() async {
        timer?.cancel()
        timer = nil
        await flush()
    }
}
