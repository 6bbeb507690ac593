import Foundation

/// Sudden changes in a stream of per-interval values (request rate, latency, a class's share, gate
/// refusals), by two classical control charts with documented parameters. The in-control mean and
/// standard deviation come from a baseline: the first half of the series (at least 10 points).
///
/// - EWMA (Roberts 1959): z_t = λ·x_t + (1 − λ)·z_{t−1}, z_0 = μ; alarm when |z_t − μ| > L·σ·√(λ/(2 − λ)·(1 − (1 − λ)^{2t})).
///   Defaults λ = 0.2, L = 3.5 (about 1 false alarm in 10 series of 120 points with a 60-point baseline).
/// - CUSUM (Page 1954, tabular): S⁺_t = max(0, S⁺_{t−1} + (x_t − μ)/σ − k), S⁻ likewise downwards; alarm when
///   either exceeds h, then both restart from 0. Defaults k = 0.5, h = 8 (in standard deviations; a baseline
///   estimated from 60 points makes the textbook h = 5 alarm on about 3 steady series in 10).
public enum AnomalyDetection {
    public struct Alarm: Codable, Sendable, Equatable {
        public var index: Int
        /// `ewma` or `cusum`.
        public var method: String
        /// `up` or `down`.
        public var direction: String
        public var value: Double
    }

    /// Mean and standard deviation of the baseline (a zero spread is floored so that a constant series can alarm).
    static func baseline(_ x: [Double], _ count: Int?) -> (mean: Double, sd: Double, count: Int) {
        let n = min(x.count, max(10, count ?? x.count / 2))
        let b = Array(x.prefix(n))
        let mean = b.reduce(0, +) / Double(max(b.count, 1))
        let variance = b.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(b.count - 1, 1))
        return (mean, max(variance.squareRoot(), 1e-9 + abs(mean) * 1e-6), n)
    }

    public static func ewma(_ x: [Double], lambda: Double = 0.2, width: Double = 3.5, baseline count: Int? = nil) -> [Alarm] {
        guard x.count >= 10 else { return [] }
        let (mu, sd, _) = baseline(x, count)
        var z = mu, alarms: [Alarm] = []
        for (t, v) in x.enumerated() {
            z = lambda * v + (1 - lambda) * z
            let limit = width * sd * (lambda / (2 - lambda) * (1 - pow(1 - lambda, 2 * Double(t + 1)))).squareRoot()
            if abs(z - mu) > limit { alarms.append(Alarm(index: t, method: "ewma", direction: z > mu ? "up" : "down", value: v)) }
        }
        return alarms
    }

    public static func cusum(_ x: [Double], k: Double = 0.5, h: Double = 8, baseline count: Int? = nil) -> [Alarm] {
        guard x.count >= 10 else { return [] }
        let (mu, sd, _) = baseline(x, count)
        var up = 0.0, down = 0.0, alarms: [Alarm] = []
        for (t, v) in x.enumerated() {
            let s = (v - mu) / sd
            up = max(0, up + s - k)
            down = max(0, down - s - k)
            if up > h || down > h {
                alarms.append(Alarm(index: t, method: "cusum", direction: up > h ? "up" : "down", value: v))
                up = 0
                down = 0
            }
        }
        return alarms
    }
}
