import Foundation
import LumenInference
import LumenStore
import LumenWorkspace

/// A rule's metric computed from the store: the model's prediction log over the trailing window (every
/// replica logs to the same store, so every replica computes the same value), its feedback and its
/// version's reference profile.
public enum AlertMetrics {
    /// The value (nil when the window holds fewer than the rule's `minSamples`) and what it was computed from.
    public static func value(_ rule: AlertRule, model: String, store: any Store, artifacts: ArtifactStore, now: Int64) async throws -> (value: Double?, evidence: [String: Any]) {
        let since = now - Int64(rule.window * 1000)
        let logs = try await store.predictions(modelName: model, version: nil, since: since, limit: 1_000_000).filter { $0.time <= now }
        var evidence: [String: Any] = ["metric": rule.metric.description, "window_seconds": rule.window, "from": since, "to": now]
        var answered: [(log: PredictionLog, outputs: [String: Any])] = []
        var gated = 0, failed = 0
        for log in logs {
            let out = (try? JSONSerialization.jsonObject(with: Data(log.outputs.utf8)) as? [String: Any]) ?? [:]
            switch out["route"] as? String {
            case "gated": gated += 1
            case "error": failed += 1
            case "batch": continue   // batch inference (lumen predict --out) is not served traffic
            case "shadow": continue
            default: answered.append((log, out))
            }
        }
        evidence["predictions"] = answered.count
        // The version answering most recently: drift and performance are judged against its reference and classes.
        let latest = answered.last?.log.modelVersion
        if let latest { evidence["version"] = latest }
        func enough(_ n: Int) -> Bool { n >= rule.minSamples }

        switch rule.metric {
        case .requests:
            return (Double(answered.count) / (rule.window / 60), evidence)
        case .latencyP99, .latencyMean:
            guard enough(answered.count) else { return (nil, evidence) }
            let latencies = answered.map(\.log.latency).sorted()
            if rule.metric == .latencyMean { return (latencies.reduce(0, +) / Double(latencies.count), evidence) }
            // The nearest-rank 99th percentile.
            return (latencies[min(latencies.count - 1, Int((0.99 * Double(latencies.count)).rounded(.up)) - 1)], evidence)
        case .errorRate:
            evidence["errors"] = failed
            guard enough(answered.count + failed) else { return (nil, evidence) }
            return (Double(failed) / Double(answered.count + failed), evidence)
        case .gateRate:
            evidence["gated"] = gated
            guard enough(answered.count + gated) else { return (nil, evidence) }
            return (Double(gated) / Double(answered.count + gated), evidence)
        case .classShare(let label):
            guard enough(answered.count), let latest else { return (nil, evidence) }
            let classes = try await self.classes(model, latest, store)
            guard let index = classes.firstIndex(of: label) else { throw AlertConfig.ConfigError("rule \(rule.name): \(model) has no class '\(label)' (classes: \(classes.joined(separator: ", ")))") }
            let hits = answered.filter { (($0.outputs["labels"] as? [NSNumber])?.first?.intValue) == index }.count
            evidence["count"] = hits
            return (Double(hits) / Double(answered.count), evidence)
        case .driftShare, .embeddingAUC:
            guard let latest else { return (nil, evidence) }
            let ofVersion = answered.filter { $0.log.modelVersion == latest }
            guard enough(ofVersion.count) else { return (nil, evidence) }
            let version = try await store.modelVersion(name: model, version: latest)
            guard let sha = version.tags[ReferenceProfile.tag] else {
                evidence["note"] = "version \(latest) has no reference profile"
                return (nil, evidence)
            }
            let profile = try ReferenceProfile.decode(Data(contentsOf: try artifacts.url(for: sha)))
            let classes = profile.outputs.keys.map { String($0.dropFirst(2)) }.sorted()
            let window = ReferenceProfile.window(features: ofVersion.map(\.log.features), outputs: ofVersion.map(\.log.outputs), classes: classes)
            if rule.metric == .driftShare {
                let report = profile.drift(window)
                guard !report.features.isEmpty else { return (nil, evidence) }
                evidence["drifted_features"] = report.driftedFeatures
                return (Double(report.driftedFeatures.count) / Double(report.features.count), evidence)
            }
            guard let drift = profile.embeddingDrift(window), let classifier = drift.methods.first(where: { $0.method == "domain_classifier" }) else {
                evidence["note"] = "no embeddings logged in the window"
                return (nil, evidence)
            }
            evidence["embeddings"] = drift.currentCount
            return (classifier.statistic, evidence)
        case .accuracy, .sensitivity:
            guard let latest else { return (nil, evidence) }
            let specText = try await store.modelVersion(name: model, version: latest).spec
            guard let specText, let spec = try? ModelSpec.decode(specText, model: model), spec.task == .classification else {
                evidence["note"] = "not a classification model"
                return (nil, evidence)
            }
            let truth = try await store.feedback(for: answered.compactMap(\.log.id))
            var pairs: [(predicted: Int, actual: Int)] = []
            for a in answered {
                guard let id = a.log.id, let label = truth[id]?.label, let actual = spec.classes.firstIndex(of: label),
                      let predicted = (a.outputs["labels"] as? [NSNumber])?.first?.intValue else { continue }
                pairs.append((predicted, actual))
            }
            evidence["with_ground_truth"] = pairs.count
            if rule.metric == .accuracy {
                guard enough(pairs.count) else { return (nil, evidence) }
                return (Double(pairs.filter { $0.predicted == $0.actual }.count) / Double(pairs.count), evidence)
            }
            guard spec.classes.count == 2 else { throw AlertConfig.ConfigError("rule \(rule.name): sensitivity needs a binary model; \(model) has \(spec.classes.count) classes") }
            let positives = pairs.filter { $0.actual == spec.positiveIndex }
            evidence["positives"] = positives.count
            guard enough(positives.count) else { return (nil, evidence) }
            return (Double(positives.filter { $0.predicted == spec.positiveIndex }.count) / Double(positives.count), evidence)
        }
    }

    static func classes(_ model: String, _ version: Int64, _ store: any Store) async throws -> [String] {
        guard let text = try await store.modelVersion(name: model, version: version).spec, let spec = try? ModelSpec.decode(text, model: model) else { return [] }
        return spec.classes
    }
}
