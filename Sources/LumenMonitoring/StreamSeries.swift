import Foundation

/// Per-interval series of a prediction log, for anomaly detection: requests, mean latency, error rate,
/// gate refusals and each predicted class's share.
public struct StreamSeries: Sendable {
    /// Start of each interval (ms).
    public var starts: [Int64]
    public var series: [String: [Double]]

    /// `entries`: (time ms, latency s, route, predicted label) per logged prediction, any order.
    public init(entries: [(time: Int64, latency: Double, route: String, label: String?)], from: Int64, to: Int64, bucket: Int64) {
        let count = max(1, Int((to - from + bucket - 1) / bucket))
        starts = (0..<count).map { from + Int64($0) * bucket }
        var requests = [Double](repeating: 0, count: count), latency = [Double](repeating: 0, count: count), gated = [Double](repeating: 0, count: count)
        var errors = [Double](repeating: 0, count: count)
        var labels: [String: [Double]] = [:]
        for e in entries where e.time >= from && e.time < to {
            let i = Int((e.time - from) / bucket)
            if e.route == "gated" { gated[i] += 1; continue }
            if e.route == "error" { errors[i] += 1; continue }
            if e.route == "shadow" || e.route == "batch" { continue }
            requests[i] += 1
            latency[i] += e.latency
            if let label = e.label { labels[label, default: [Double](repeating: 0, count: count)][i] += 1 }
        }
        var out: [String: [Double]] = ["requests": requests, "gate_refusals": gated,
                                       "error_rate": zip(errors, requests).map { $0 + $1 > 0 ? $0 / ($0 + $1) : 0 },
                                       "latency_ms": zip(latency, requests).map { $1 > 0 ? 1000 * $0 / $1 : 0 }]
        for (label, counts) in labels { out["share_" + label] = zip(counts, requests).map { $1 > 0 ? $0 / $1 : 0 } }
        series = out
    }

    /// Both charts on every series: alarms by series name.
    public func alarms() -> [String: [AnomalyDetection.Alarm]] {
        var out: [String: [AnomalyDetection.Alarm]] = [:]
        for (name, values) in series {
            let found = AnomalyDetection.ewma(values) + AnomalyDetection.cusum(values)
            if !found.isEmpty { out[name] = found.sorted { ($0.index, $0.method) < ($1.index, $1.method) } }
        }
        return out
    }
}
