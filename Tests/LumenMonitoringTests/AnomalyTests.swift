import Foundation
import LumenMonitoring
import Testing

@Suite("Stream anomalies")
struct AnomalyTests {
    /// A step of 2 standard deviations after 60 in-control points is found by both charts within a few
    /// points; 100 in-control series of 120 points rarely alarm.
    @Test func stepsAreFoundAndSteadyStreamsRarelyAlarm() {
        var ewmaFalse = 0, cusumFalse = 0, ewmaDelays: [Int] = [], cusumDelays: [Int] = []
        for seed in 0..<100 {
            let steady = normals(120, mean: 50, sd: 5, seed: UInt64(seed))
            if !AnomalyDetection.ewma(steady).isEmpty { ewmaFalse += 1 }
            if !AnomalyDetection.cusum(steady).isEmpty { cusumFalse += 1 }
            let stepped = normals(60, mean: 50, sd: 5, seed: UInt64(seed + 500)) + normals(60, mean: 60, sd: 5, seed: UInt64(seed + 900))
            if let first = AnomalyDetection.ewma(stepped, baseline: 60).first(where: { $0.index >= 60 }) { ewmaDelays.append(first.index - 60) }
            if let first = AnomalyDetection.cusum(stepped, baseline: 60).first(where: { $0.index >= 60 }) { cusumDelays.append(first.index - 60) }
        }
        #expect(ewmaFalse <= 20 && cusumFalse <= 20, "false alarms over 100 steady series: EWMA \(ewmaFalse), CUSUM \(cusumFalse)")
        #expect(ewmaDelays.count >= 95 && cusumDelays.count >= 95, "steps found: EWMA \(ewmaDelays.count), CUSUM \(cusumDelays.count) of 100")
        let median = { (d: [Int]) in d.sorted()[d.count / 2] }
        print("anomalies: false alarms EWMA \(ewmaFalse)/100, CUSUM \(cusumFalse)/100; 2σ steps found EWMA \(ewmaDelays.count)/100 (median delay \(median(ewmaDelays))), CUSUM \(cusumDelays.count)/100 (median delay \(median(cusumDelays)))")
        #expect(median(ewmaDelays) <= 5 && median(cusumDelays) <= 6, "median delay EWMA \(median(ewmaDelays)), CUSUM \(median(cusumDelays))")
        // A drop is reported as one.
        let dropped = Array(repeating: 100.0, count: 40).enumerated().map { $0.element + Double($0.offset % 3) } + Array(repeating: 20.0, count: 10)
        #expect(AnomalyDetection.cusum(dropped).contains { $0.direction == "down" && $0.index >= 40 })
        #expect(AnomalyDetection.ewma(Array(repeating: 3, count: 5)).isEmpty, "too short a series says nothing")
    }
}

@Suite("Stream series")
struct StreamSeriesTests {
    /// A log bucketed per minute: a surge of requests, slower answers and a class-mix change are alarmed.
    @Test func surgesInALogAreFound() {
        var entries: [(time: Int64, latency: Double, route: String, label: String?)] = []
        var rng = SystemRandomNumberGenerator()
        for minute in 0..<80 {
            let surge = minute >= 60
            let n = surge ? 40 : 10 + Int.random(in: 0...2, using: &rng)
            for k in 0..<n {
                let time = Int64(minute) * 60_000 + Int64(k) * 1_000
                let label = surge ? (k % 4 == 0 ? "normal" : "pneumonia") : (k % 4 == 0 ? "pneumonia" : "normal")
                entries.append((time, surge ? 0.2 : 0.02 + Double.random(in: 0...0.005, using: &rng), "primary", label))
            }
            if minute % 10 == 0 { entries.append((Int64(minute) * 60_000 + 500, 0.01, "gated", nil)) }
            entries.append((Int64(minute) * 60_000 + 700, 0.5, "shadow", "normal"))
        }
        let stream = StreamSeries(entries: entries, from: 0, to: 80 * 60_000, bucket: 60_000)
        #expect(stream.starts.count == 80 && stream.series["requests"]?[0] ?? 0 >= 10 && stream.series["gate_refusals"]?.reduce(0, +) == 8)
        #expect(abs((stream.series["share_pneumonia"]?[0] ?? 0) - Double((0..<Int(stream.series["requests"]![0])).filter { $0 % 4 == 0 }.count) / stream.series["requests"]![0]) < 1e-12)
        let alarms = stream.alarms()
        for name in ["requests", "latency_ms", "share_pneumonia"] {
            #expect(alarms[name]?.contains { $0.index >= 60 && $0.index <= 65 && $0.direction == "up" } == true, "\(name): \(alarms[name] ?? [])")
        }
        #expect(alarms["gate_refusals"] == nil, "a steady trickle of refusals is not an anomaly")
    }
}

@Suite("Error rate in the stream")
struct ErrorRateStreamTests {
    /// Failed requests (route `error`) are not predictions: they make the error-rate series, and a burst of them is alarmed.
    @Test func aBurstOfFailuresIsAnAnomaly() {
        var entries: [(time: Int64, latency: Double, route: String, label: String?)] = []
        for minute in 0..<60 {
            for k in 0..<20 { entries.append((Int64(minute * 60_000 + k * 1000), 0.05, "primary", "normal")) }
            let failures = minute >= 50 ? 10 : (minute % 7 == 0 ? 1 : 0)
            for k in 0..<failures { entries.append((Int64(minute * 60_000 + 30_000 + k), 0.01, "error", nil)) }
        }
        let stream = StreamSeries(entries: entries, from: 0, to: 3_600_000, bucket: 60_000)
        #expect(stream.series["requests"]!.allSatisfy { $0 == 20 }, "failures are not counted as requests")
        #expect(abs(stream.series["error_rate"]![55] - 10.0 / 30) < 1e-12 && stream.series["error_rate"]![1] == 0)
        let alarms = stream.alarms()["error_rate"] ?? []
        #expect(alarms.contains { $0.index >= 50 && $0.direction == "up" } && !alarms.contains { $0.index < 50 }, "\(alarms)")
    }
}
