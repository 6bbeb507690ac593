import Foundation
import LumenStore
import LumenWorkspace

/// What a model version accepts: inputs it was made for pass, others are refused before anyone reads
/// its answer (the cell-membrane project's gate classifier, generalised). Two kinds, alone or together:
/// an out-of-distribution score of the model's own outputs, and another registered classifier that
/// tells in-domain images from the rest.
///
/// Scores (higher means further from the training data):
/// - `mahalanobis`: the mean squared standardised distance of the penultimate-layer embedding from the
///   training set's embeddings, per feature (Mahalanobis distance with a diagonal covariance, divided
///   by the dimension; variances get a small floor so that dead features do not dominate);
/// - `energy`: the free energy of the logits, −T·log Σ exp(logit / T) (Liu et al., 2020).
/// The threshold is the held-out split's score quantile for the stated false-rejection rate.
public struct InputGate: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable {
        case mahalanobis, energy
    }

    public var method: Method?
    /// Scores above it are refused.
    public var threshold: Double?
    /// The share of held-out in-domain images the threshold refuses.
    public var falseRejectionRate: Double?
    /// The dataset and split the statistics and threshold came from (for the model card and answers).
    public var calibratedOn: String?
    /// Per-feature mean and variance of the training embeddings (`mahalanobis`).
    public var mean: [Float]?
    public var variance: [Float]?
    public var temperature: Double?
    /// A registered classifier (NAME@ALIAS) run first, and the classes of it that mean "in domain".
    public var classifier: String?
    public var accept: [String]?
    /// The least probability of an accepted class.
    public var minProbability: Double?

    public init(method: Method? = nil, threshold: Double? = nil, falseRejectionRate: Double? = nil, calibratedOn: String? = nil,
                mean: [Float]? = nil, variance: [Float]? = nil, temperature: Double? = nil,
                classifier: String? = nil, accept: [String]? = nil, minProbability: Double? = nil) {
        self.method = method
        self.threshold = threshold
        self.falseRejectionRate = falseRejectionRate
        self.calibratedOn = calibratedOn
        self.mean = mean
        self.variance = variance
        self.temperature = temperature
        self.classifier = classifier
        self.accept = accept
        self.minProbability = minProbability
    }

    /// The tag of a model version that holds its gate (the SHA-256 of the gate's JSON in the artifact store).
    public static let tag = "lumen.gate"

    /// The Mahalanobis-type score of one embedding (needs `mean` and `variance`).
    public func mahalanobis(_ embedding: [Float]) -> Double {
        guard let mean, let variance, mean.count == embedding.count, !mean.isEmpty else { return .infinity }
        var sum = 0.0
        for i in 0..<mean.count {
            let d = Double(embedding[i] - mean[i])
            sum += d * d / Double(variance[i])
        }
        return sum / Double(mean.count)
    }

    /// The energy score of one row of logits.
    public static func energy(_ logits: [Float], temperature t: Double = 1) -> Double {
        guard let top = logits.max() else { return .infinity }
        let m = Double(top) / t
        let sum = logits.reduce(0.0) { $0 + exp(Double($1) / t - m) }
        return -t * (m + log(sum))
    }

    /// The score of one input by this gate's method.
    public func score(embedding: [Float]?, logits: [Float]?) -> Double? {
        switch method {
        case .mahalanobis: return embedding.map(mahalanobis)
        case .energy: return logits.map { Self.energy($0, temperature: temperature ?? 1) }
        case nil: return nil
        }
    }

    /// Per-feature mean and variance of training embeddings (variance floored at 1e-6 and at 1 % of the mean variance).
    public static func statistics(_ embeddings: [[Float]]) -> (mean: [Float], variance: [Float]) {
        guard let d = embeddings.first?.count, !embeddings.isEmpty else { return ([], []) }
        let n = Double(embeddings.count)
        var mean = [Double](repeating: 0, count: d), sq = [Double](repeating: 0, count: d)
        for e in embeddings { for i in 0..<d { mean[i] += Double(e[i]) } }
        for i in 0..<d { mean[i] /= n }
        for e in embeddings { for i in 0..<d { let x = Double(e[i]) - mean[i]; sq[i] += x * x } }
        let variance = sq.map { $0 / max(n - 1, 1) }
        let floor = max(1e-6, 0.01 * variance.reduce(0, +) / Double(d))
        return (mean.map { Float($0) }, variance.map { Float(max($0, floor)) })
    }

    /// The threshold that refuses `rate` of `scores` (their 1 − rate quantile, the higher order statistic).
    public static func threshold(_ scores: [Double], falseRejectionRate rate: Double) -> Double {
        let sorted = scores.sorted()
        guard !sorted.isEmpty else { return .infinity }
        let k = min(sorted.count - 1, Int((Double(sorted.count) * (1 - rate)).rounded(.up)) - 1)
        return sorted[max(0, k)]
    }

    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(self)
    }

    /// A one-line description (for `lumen models show` and answers).
    public var summary: String {
        var parts: [String] = []
        if let method, let threshold { parts.append("\(method.rawValue) score ≤ \(String(format: "%.4g", threshold))" + (falseRejectionRate.map { " (\(String(format: "%.1f", 100 * $0)) % false rejections on \(calibratedOn ?? "held-out data"))" } ?? "")) }
        if let classifier { parts.append("classifier \(classifier) says \((accept ?? []).joined(separator: " or "))" + (minProbability.map { " with p ≥ \($0)" } ?? "")) }
        return parts.isEmpty ? "none" : parts.joined(separator: "; ")
    }
}

extension InputGate {
    /// The gate a version's `lumen.gate` tag names in the artifact store, if any.
    public static func load(_ version: ModelVersion, artifacts: ArtifactStore) throws -> InputGate? {
        guard let sha = version.tags[tag] else { return nil }
        let url = try artifacts.url(for: sha)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw InferenceError.checkpoint(model: "\(version.name) version \(version.version)", reason: "its input gate (sha256 \(sha.prefix(12))…) is not in the artifact store")
        }
        do { return try JSONDecoder().decode(InputGate.self, from: data) } catch {
            throw InferenceError.checkpoint(model: "\(version.name) version \(version.version)", reason: "its input gate cannot be read: \(error)")
        }
    }
}

/// The input gate's verdict on one image.
public struct GateVerdict: Sendable {
    public init(accepted: Bool, reason: String, score: Double? = nil, threshold: Double? = nil, gateClass: String? = nil, gateProbability: Double? = nil) {
        self.accepted = accepted
        self.reason = reason
        self.score = score
        self.threshold = threshold
        self.gateClass = gateClass
        self.gateProbability = gateProbability
    }

    public var accepted: Bool
    public var reason: String
    /// The out-of-distribution score and its threshold, when the gate has one.
    public var score: Double?
    public var threshold: Double?
    /// The gate classifier's class for the image and its probability, when the gate has one.
    public var gateClass: String?
    public var gateProbability: Double?

    public var json: [String: Any] {
        var out: [String: Any] = ["verdict": accepted ? "accepted" : "rejected", "reason": reason]
        if let score { out["score"] = score.isFinite ? score : Double.greatestFiniteMagnitude }
        if let threshold { out["threshold"] = threshold }
        if let gateClass { out["gate_class"] = gateClass }
        if let gateProbability { out["gate_probability"] = gateProbability }
        return out
    }
}

extension InputGate {
    /// The gate classifier's verdict on one image, from its prediction (`classifier` names it in messages).
    public func judge(classifierPrediction p: Prediction, classes: [String], classifier: String) -> GateVerdict {
        let top = p.labels.first ?? 0
        let cls = classes[top], probability = p.probabilities[top]
        let ok = (accept ?? []).contains(cls) && probability >= (minProbability ?? 0)
        return GateVerdict(accepted: ok, reason: ok ? "gate classifier \(classifier) says \(cls)"
                            : "gate classifier \(classifier) says \(cls) (p = \(String(format: "%.3f", probability))), not \((accept ?? []).joined(separator: " or "))",
                           gateClass: cls, gateProbability: probability)
    }

    /// `verdict` with the out-of-distribution score of one image applied (unchanged when the gate has no score).
    public func judge(_ verdict: GateVerdict, embedding: [Float]?, logits: [Float]?, hasClassifier: Bool) -> GateVerdict {
        guard let threshold, let method, let score = score(embedding: embedding, logits: logits) else { return verdict }
        var v = verdict
        let ok = score <= threshold
        v.accepted = verdict.accepted && ok
        v.score = score
        v.threshold = threshold
        v.reason = ok ? (hasClassifier ? verdict.reason + "; \(method.rawValue) score within the training data's" : "\(method.rawValue) score within the training data's")
            : "\(method.rawValue) score \(String(format: "%.4g", score)) is above \(String(format: "%.4g", threshold)): the input is unlike the data the model was trained on"
        return v
    }
}
