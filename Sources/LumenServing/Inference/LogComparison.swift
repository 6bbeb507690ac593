import Foundation
import LumenStore

/// Versions of one model compared on their logged traffic (`lumen models compare NAME --from-log`):
/// requests, routes, latency percentiles, output distributions per version, and how often two versions
/// gave the same label to the same input (the input hash in the log: A/B traffic that sent one image
/// to both, or a shadow beside the version that answered).
public struct LogComparison: Sendable {
    public struct Version: Sendable {
        public var version: Int64
        public var predictions: Int
        public var routes: [String: Int]
        public var latencyP50: Double
        public var latencyP90: Double
        public var latencyP99: Double
        /// Mean probability per output (class or finding index).
        public var meanProbabilities: [Double]
        /// How many predictions had each top label (index).
        public var labels: [Int: Int]
    }
    public struct Agreement: Sendable {
        public var a: Int64
        public var b: Int64
        /// Inputs both versions predicted.
        public var shared: Int
        /// Of those, how many got the same labels.
        public var agreeing: Int
        public var rate: Double { shared == 0 ? .nan : Double(agreeing) / Double(shared) }
    }
    public var versions: [Version]
    public var agreements: [Agreement]

    public init(_ logs: [PredictionLog]) {
        struct Parsed { var version: Int64; var latency: Double; var probabilities: [Double]; var labels: [Int]; var route: String; var input: String? }
        // Failed requests are logged for the error rate (route `error`); they are not predictions.
        let parsed: [Parsed] = logs.filter { !$0.outputs.contains(#""route":"error""#) }.map { log in
            let outputs = (try? JSONSerialization.jsonObject(with: Data(log.outputs.utf8)) as? [String: Any]) ?? [:]
            let features = (try? JSONSerialization.jsonObject(with: Data(log.features.utf8)) as? [String: Any]) ?? [:]
            return Parsed(version: log.modelVersion, latency: log.latency,
                          probabilities: (outputs["probabilities"] as? [NSNumber])?.map(\.doubleValue) ?? [],
                          labels: (outputs["labels"] as? [NSNumber])?.map(\.intValue) ?? [],
                          route: outputs["route"] as? String ?? "primary", input: features["input_sha256"] as? String)
        }
        func percentile(_ sorted: [Double], _ p: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            return sorted[min(sorted.count - 1, Int((p * Double(sorted.count - 1)).rounded()))]
        }
        let byVersion = Dictionary(grouping: parsed, by: \.version)
        versions = byVersion.keys.sorted().map { v in
            let entries = byVersion[v]!
            let latencies = entries.map(\.latency).sorted()
            let k = entries.map(\.probabilities.count).max() ?? 0
            var sums = [Double](repeating: 0, count: k)
            for e in entries where e.probabilities.count == k { for i in 0..<k { sums[i] += e.probabilities[i] } }
            var labels: [Int: Int] = [:]
            for e in entries { if let top = e.labels.first { labels[top, default: 0] += 1 } }
            return Version(version: v, predictions: entries.count, routes: Dictionary(grouping: entries, by: \.route).mapValues(\.count),
                           latencyP50: percentile(latencies, 0.5), latencyP90: percentile(latencies, 0.9), latencyP99: percentile(latencies, 0.99),
                           meanProbabilities: sums.map { $0 / Double(max(entries.count, 1)) }, labels: labels)
        }
        // The latest labels per version and input.
        var latest: [Int64: [String: [Int]]] = [:]
        for e in parsed { if let input = e.input { latest[e.version, default: [:]][input] = e.labels } }
        var agreements: [Agreement] = []
        let keys = latest.keys.sorted()
        for (i, a) in keys.enumerated() {
            for b in keys[(i + 1)...] {
                let shared = Set(latest[a]!.keys).intersection(latest[b]!.keys)
                agreements.append(Agreement(a: a, b: b, shared: shared.count, agreeing: shared.filter { latest[a]![$0] == latest[b]![$0] }.count))
            }
        }
        self.agreements = agreements
    }
}
