import Foundation
import LumenStore

/// Writes prediction logs to the store in batches, off the request path: an answer never waits for the
/// database. `flush()` (called on shutdown) writes whatever is buffered, so a log the server took is not lost.
public actor PredictionLogger {
    let store: any Store
    let maxBuffered: Int
    private var buffer: [PredictionLog] = []
    private var inFlight = 0
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

    /// Writes every buffered log now. Writes may overlap (each takes its own logs); `close` waits for all.
    public func flush() async {
        guard !buffer.isEmpty else { return }
        let batch = buffer
        buffer.removeAll(keepingCapacity: true)
        inFlight += 1
        defer { inFlight -= 1 }
        do {
            try await store.logPredictions(batch)
            written += batch.count
        } catch {
            FileHandle.standardError.write(Data("lumen serve: \(batch.count) prediction log(s) not written: \(error)\n".utf8))
            failed += batch.count
        }
    }

    /// Stops the timer and writes what is left.
    public func close() async {
        timer?.cancel()
        timer = nil
        await flush()
        while inFlight > 0 { try? await Task.sleep(for: .milliseconds(5)) }
    }
}
