import Foundation
import LumenWorkspace
import NIOCore
import NIOHTTP1
import NIOPosix

/// What `lumen load` sends: one request, repeated by `concurrency` keep-alive connections for
/// `duration` seconds (or until `requests` have been sent).
public struct LoadOptions: Sendable {
    public var host: String
    public var port: Int
    public var path: String
    public var method: HTTPMethod = .GET
    public var headers: [(String, String)] = []
    public var body: [UInt8] = []
    public var concurrency = 16
    public var duration: Double = 10
    /// Stop after this many requests (nil: the duration decides).
    public var requests: Int?
    /// Seconds before an unanswered request counts as a timeout.
    public var timeout: Double = 30

    public init(url: URL) throws {
        guard url.scheme == "http", let host = url.host, !host.isEmpty else {
            throw LoadError("\(url.absoluteString): lumen load speaks plain HTTP (http://HOST:PORT/PATH); put TLS in front of it, not in between")
        }
        self.host = host
        self.port = url.port ?? 80
        let query = url.query.map { "?\($0)" } ?? ""
        self.path = (url.path.isEmpty ? "/" : url.path) + query
    }
}

public struct LoadError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The outcome of a load run: throughput, latency percentiles, answers by status, errors by kind.
public struct LoadReport: Sendable, Codable {
    public var requests: Int
    public var seconds: Double
    public var concurrency: Int
    public var statuses: [String: Int]
    public var errors: [String: Int]
    public var latencyMs: [String: Double]
    public var throughput: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    enum CodingKeys: String, CodingKey { case requests, seconds, concurrency, statuses, errors, latencyMs = "latency_ms", throughput }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(requests, forKey: .requests)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(concurrency, forKey: .concurrency)
        try c.encode(statuses, forKey: .statuses)
        try c.encode(errors, forKey: .errors)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encode(throughput, forKey: .throughput)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        requests = try c.decode(Int.self, forKey: .requests)
        seconds = try c.decode(Double.self, forKey: .seconds)
        concurrency = try c.decode(Int.self, forKey: .concurrency)
        statuses = try c.decode([String: Int].self, forKey: .statuses)
        errors = try c.decode([String: Int].self, forKey: .errors)
        latencyMs = try c.decode([String: Double].self, forKey: .latencyMs)
    }

    init(requests: Int, seconds: Double, concurrency: Int, statuses: [String: Int], errors: [String: Int], latencyMs: [String: Double]) {
        self.requests = requests
        self.seconds = seconds
        self.concurrency = concurrency
        self.statuses = statuses
        self.errors = errors
        self.latencyMs = latencyMs
    }
}

/// A live view of a run, for the progress line.
public struct LoadSnapshot: Sendable {
    public var elapsed: Double
    public var requests: Int
    public var errors: Int
    public var recentP50Ms: Double
    public var recentP99Ms: Double
    public var throughput: Double
}

/// Drives HTTP/1.1 load over keep-alive connections with SwiftNIO (the job Locust and wrk do), recording
/// every request's latency and status.
public final class LoadGenerator: Sendable {
    let options: LoadOptions
    private let state = Locked(State())

    struct State {
        var latencies: [Double] = []
        var recent: [Double] = []
        var statuses: [Int: Int] = [:]
        var errors: [String: Int] = [:]
        var sent = 0
    }

    public init(_ options: LoadOptions) { self.options = options }

    /// Runs the load; `progress` hears a snapshot about every `interval` seconds.
    public func run(interval: Double = 1, progress: @escaping @Sendable (LoadSnapshot) -> Void = { _ in }) async throws -> LoadReport {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(options.concurrency, ProcessInfo.processInfo.activeProcessorCount)))
        let started = monotonicSeconds()
        let deadline = started + options.duration
        let reporter = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(interval))
                progress(snapshot(since: started))
            }
        }
        await withTaskGroup(of: Void.self) { tasks in
            for _ in 0..<options.concurrency {
                tasks.addTask { await self.connection(group: group, deadline: deadline) }
            }
        }
        reporter.cancel()
        let seconds = monotonicSeconds() - started
        try? await group.shutdownGracefully()
        return state.withLock { s in
            let sorted = s.latencies.sorted()
            func p(_ q: Double) -> Double { sorted.isEmpty ? 0 : 1000 * sorted[min(sorted.count - 1, Int((q * Double(sorted.count - 1)).rounded()))] }
            let mean = sorted.isEmpty ? 0 : 1000 * sorted.reduce(0, +) / Double(sorted.count)
            return LoadReport(requests: s.latencies.count, seconds: seconds, concurrency: options.concurrency,
                              statuses: Dictionary(uniqueKeysWithValues: s.statuses.map { (String($0.key), $0.value) }), errors: s.errors,
                              latencyMs: ["mean": mean, "p50": p(0.5), "p90": p(0.9), "p99": p(0.99), "max": 1000 * (sorted.last ?? 0)])
        }
    }

    private func snapshot(since started: Double) -> LoadSnapshot {
        state.withLock { s in
            let recent = s.recent.sorted()
            s.recent.removeAll(keepingCapacity: true)
            func p(_ q: Double) -> Double { recent.isEmpty ? 0 : 1000 * recent[min(recent.count - 1, Int((q * Double(recent.count - 1)).rounded()))] }
            let elapsed = monotonicSeconds() - started
            return LoadSnapshot(elapsed: elapsed, requests: s.latencies.count, errors: s.errors.values.reduce(0, +) + s.statuses.filter { $0.key >= 400 }.values.reduce(0, +),
                                recentP50Ms: p(0.5), recentP99Ms: p(0.99), throughput: Double(s.latencies.count) / max(elapsed, 1e-3))
        }
    }

    /// Takes the next request slot, or nil when the run is over.
    private func claim(deadline: Double) -> Bool {
        guard monotonicSeconds() < deadline else { return false }
        return state.withLock { s in
            if let limit = options.requests, s.sent >= limit { return false }
            s.sent += 1
            return true
        }
    }

    private func record(status: Int?, error: String?, latency: Double?) {
        state.withLock { s in
            if let status { s.statuses[status, default: 0] += 1 }
            if let error { s.errors[error, default: 0] += 1 }
            if let latency { s.latencies.append(latency); s.recent.append(latency) }
        }
    }

    /// One keep-alive connection sending requests back to back; it reconnects after an error or a close.
    private func connection(group: MultiThreadedEventLoopGroup, deadline: Double) async {
        var head = HTTPRequestHead(version: .http1_1, method: options.method, uri: options.path)
        head.headers.add(name: "Host", value: "\(options.host):\(options.port)")
        head.headers.add(name: "User-Agent", value: "lumen-load/\(LumenRelease.version)")
        for (k, v) in options.headers { head.headers.add(name: k, value: v) }
        if !options.body.isEmpty || options.method == .POST || options.method == .PUT { head.headers.add(name: "Content-Length", value: String(options.body.count)) }
        let body = ByteBuffer(bytes: options.body)
        while monotonicSeconds() < deadline {
            do {
                let channel = try await ClientBootstrap(group: group)
                    .channelOption(.socketOption(.so_reuseaddr), value: 1)
                    .connectTimeout(.seconds(5))
                    .connect(host: options.host, port: options.port) { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHTTPClientHandlers()
                            return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                        }
                    }
                let keepGoing = try await channel.executeThenClose { inbound, outbound -> Bool in
                    var responses = inbound.makeAsyncIterator()
                    while claim(deadline: deadline) {
                        let start = monotonicSeconds()
                        try await outbound.write(.head(head))
                        if !options.body.isEmpty { try await outbound.write(.body(.byteBuffer(body))) }
                        try await outbound.write(.end(nil))
                        var status = 0
                        var keepAlive = true
                        reading: while let part = try await responses.next() {
                            switch part {
                            case .head(let h):
                                status = Int(h.status.code)
                                keepAlive = h.isKeepAlive
                            case .body: continue
                            case .end: break reading
                            }
                        }
                        guard status > 0 else {
                            record(status: nil, error: "connection closed before an answer", latency: nil)
                            return true
                        }
                        record(status: status, error: nil, latency: monotonicSeconds() - start)
                        if !keepAlive { return true }
                    }
                    return false
                }
                if !keepGoing { return }
            } catch {
                record(status: nil, error: Self.describe(error), latency: nil)
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("connectTimeout") || text.contains("timeout") { return "timeout" }
        if text.contains("refused") || text.contains("ECONNREFUSED") { return "connection refused" }
        if text.contains("reset") { return "connection reset" }
        return String(text.prefix(80))
    }
}

