import Foundation
import LumenWorkspace
import Prometheus

/// What `/metrics` shows, in Prometheus's text format (through swift-prometheus): requests and their
/// latency per model, version and status, batch sizes, queue depth, HTTP requests per API, and the
/// process's CPU time and resident memory.
public final class ServingMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// CPU seconds already added to the process counter.
    private let countedCPU = Locked(0.0)
    static let latencyBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public init() {}

    /// One prediction request answered (or refused) for a model version.
    public func recordPrediction(model: String, version: String, status: Int, seconds: Double) {
        let labels = [("model", model), ("version", version), ("status", String(status))]
        registry.makeCounter(descriptor: .init(metricName: "lumen_predictions", unitName: "total", helpText: "Prediction requests by model, version and HTTP status."), labels: labels).increment()
        registry.makeValueHistogram(descriptor: .init(metricName: "lumen_prediction_duration", unitName: "seconds", helpText: "Prediction latency, from the request to the answer."),
                                    labels: labels, buckets: Self.latencyBuckets).record(seconds)
    }

    /// One batch run on a compute thread, of `size` images.
    public func recordBatch(_ size: Int, model: String, version: String) {
        registry.makeValueHistogram(descriptor: .init(metricName: "lumen_batch", unitName: "size", helpText: "Images per batch run by the network."),
                                    labels: [("model", model), ("version", version)], buckets: [1, 2, 4, 8, 16, 32, 64, 128]).record(Double(size))
    }

    /// One HTTP request, by API (`tracking`, `oip`, `predict`, `admin`, `other`) and status.
    public func recordHTTP(api: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: .init(metricName: "lumen_http_requests", unitName: "total", helpText: "HTTP requests by API (tracking is MLflow's REST API) and status."),
                             labels: [("api", api), ("status", String(status))]).increment()
        registry.makeValueHistogram(descriptor: .init(metricName: "lumen_http_request_duration", unitName: "seconds", helpText: "HTTP request latency by API."),
                                    labels: [("api", api)], buckets: Self.latencyBuckets).record(seconds)
    }

    /// A request refused by a model's queue (full) or its timeout.
    public func recordRejection(model: String, reason: String) {
        registry.makeCounter(descriptor: .init(metricName: "lumen_rejections", unitName: "total", helpText: "Requests refused before running: queue full, timed out, gated."),
                             labels: [("model", model), ("reason", reason)]).increment()
    }

    /// Sets the queue depth of a model version.
    public func setQueueDepth(_ depth: Int, model: String, version: String) {
        registry.makeGauge(descriptor: .init(metricName: "lumen_queue", unitName: "depth", helpText: "Images waiting for the network, per model version."),
                           labels: [("model", model), ("version", version)]).set(Double(depth))
    }

    /// The text exposition, with the process's CPU seconds and resident memory read now.
    public func exposition() -> [UInt8] {
        if let usage = ProcessUsage.read() {
            // A counter, as Prometheus's process collectors expose it: advanced by the CPU time used since the last scrape.
            let step = countedCPU.withLock { counted -> Double in
                let delta = max(0, usage.cpuSeconds - counted)
                counted += delta
                return delta
            }
            registry.makeCounter(descriptor: .init(metricName: "process_cpu_seconds", unitName: "total", helpText: "User and system CPU time of the lumen process.")).increment(by: step)
            registry.makeGauge(descriptor: .init(metricName: "process_resident_memory", unitName: "bytes", helpText: "Resident memory of the lumen process.")).set(Double(usage.residentBytes))
        }
        return registry.emitToBuffer()
    }
}

/// CPU time and resident memory of this process, from /proc (Linux) or getrusage.
struct ProcessUsage {
    var cpuSeconds: Double
    var residentBytes: Int

    static func read() -> ProcessUsage? {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
        let cpu = Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        var resident = usage.ru_maxrss * 1024
        if let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) {
            let fields = statm.split(separator: " ")
            if fields.count > 1, let pages = Int(fields[1]) { resident = pages * Int(sysconf(Int32(_SC_PAGESIZE))) }
        }
        return ProcessUsage(cpuSeconds: cpu, residentBytes: resident)
    }
}
