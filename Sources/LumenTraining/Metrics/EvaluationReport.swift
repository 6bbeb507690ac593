import Foundation

/// Per-class figures of a classification evaluation.
public struct ClassReport: Codable, Sendable {
    public var name: String
    public var precision: Double
    public var recall: Double
    public var specificity: Double
    public var f1: Double
    public var support: Int
    public var rocAUC: Double
    public var averagePrecision: Double
}

/// A metric with its 95 % bootstrap confidence interval.
public struct Estimate: Codable, Sendable {
    public var value: Double
    public var low: Double
    public var high: Double
}

/// The operating point chosen on the ROC curve (binary tasks).
public struct Threshold: Codable, Sendable {
    public var method: String
    public var threshold: Double
    public var sensitivity: Double
    public var specificity: Double
}

/// One evaluated sample: what the model said about it.
public struct ScoredImage: Codable, Sendable {
    public var path: String
    public var label: Int
    public var probabilities: [Double]

    public init(path: String, label: Int, probabilities: [Double]) {
        self.path = path
        self.label = label
        self.probabilities = probabilities
    }
}

/// Everything `lumen evaluate` reports for a classifier, as computed by scikit-learn where it has the
/// metric (accuracy, balanced accuracy, precision/recall/F1 per class, macro and weighted, ROC-AUC,
/// average precision, confusion matrix), plus specificity, expected calibration error, a threshold by
/// Youden's J (or a target sensitivity) and bootstrap confidence intervals.
public struct ClassificationReport: Codable, Sendable {
    public var classes: [String]
    public var samples: Int
    public var accuracy: Double
    public var balancedAccuracy: Double
    public var macro: [String: Double]
    public var weighted: [String: Double]
    public var perClass: [ClassReport]
    public var rocAUC: Double
    public var prAUC: Double
    /// Rows: true class; columns: predicted class.
    public var confusionMatrix: [[Int]]
    public var expectedCalibrationError: Double
    /// (mean confidence, accuracy, count) per bin of the reliability diagram.
    public var calibrationBins: [[Double]]
    public var threshold: Threshold?
    public var confidenceIntervals: [String: Estimate]
    public var predictions: [ScoredImage]
    /// Binary tasks: the index in `classes` of the positive class (the finding), which sensitivity, specificity,
    /// ROC-AUC, PR-AUC and the threshold refer to. Absent from reports written before it existed: then 1.
    public var positive: Int?
    /// The positive class's index (binary tasks).
    public var positiveIndex: Int { positive ?? 1 }

    /// Computes the report; `bootstrap` resamples (seeded) give the 95 % intervals. `positive` is the index of the
    /// positive class of a binary task (default: the second class, as scikit-learn's `pos_label=1`).
    public init(classes: [String], predictions: [ScoredImage], targetSensitivity: Double? = nil, bootstrap: Int = 1000, seed: UInt64 = 0, positive: Int = 1) {
        let probabilities = predictions.map(\.probabilities), labels = predictions.map(\.label)
        let k = classes.count
        let pos = k == 2 && positive == 0 ? 0 : 1
        self.positive = k == 2 ? pos : nil
        self.classes = classes
        self.predictions = predictions
        samples = labels.count
        let predicted = probabilities.map { p in p.indices.max { p[$0] < p[$1] } ?? 0 }
        var matrix = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        for (y, p) in zip(labels, predicted) where y < k && p < k { matrix[y][p] += 1 }
        confusionMatrix = matrix
        accuracy = ClassificationMetrics.accuracy(probabilities: probabilities, labels: labels)
        var reports: [ClassReport] = []
        for c in 0..<k {
            let tp = Double(matrix[c][c])
            let fp = Double((0..<k).reduce(0) { $0 + ($1 == c ? 0 : matrix[$1][c]) })
            let fn = Double(matrix[c].reduce(0, +)) - tp
            let tn = Double(labels.count) - tp - fp - fn
            let precision = tp + fp > 0 ? tp / (tp + fp) : 0
            let recall = tp + fn > 0 ? tp / (tp + fn) : 0
            let scores = probabilities.map { $0[c] }, positive = labels.map { $0 == c }
            reports.append(ClassReport(name: classes[c], precision: precision, recall: recall, specificity: tn + fp > 0 ? tn / (tn + fp) : 0,
                                       f1: precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0, support: Int(tp + fn),
                                       rocAUC: ClassificationMetrics.rocAUC(scores: scores, positive: positive),
                                       averagePrecision: Self.averagePrecision(scores: scores, positive: positive)))
        }
        perClass = reports
        let present = reports.filter { $0.support > 0 }
        balancedAccuracy = present.isEmpty ? .nan : present.map(\.recall).reduce(0, +) / Double(present.count)
        let total = Double(max(labels.count, 1))
        var macro: [String: Double] = [:], weighted: [String: Double] = [:]
        let fields: [(String, (ClassReport) -> Double)] = [("precision", { $0.precision }), ("recall", { $0.recall }), ("f1", { $0.f1 }), ("specificity", { $0.specificity })]
        for (name, value) in fields {
            macro[name] = reports.map(value).reduce(0, +) / Double(max(k, 1))
            weighted[name] = reports.reduce(0) { $0 + value($1) * Double($1.support) } / total
        }
        self.macro = macro
        self.weighted = weighted
        if k == 2 {
            rocAUC = reports[pos].rocAUC
            prAUC = reports[pos].averagePrecision
        } else {
            rocAUC = ClassificationMetrics.auc(probabilities: probabilities, labels: labels)
            let aps = reports.map(\.averagePrecision).filter { !$0.isNaN }
            prAUC = aps.isEmpty ? .nan : aps.reduce(0, +) / Double(aps.count)
        }
        (expectedCalibrationError, calibrationBins) = Self.calibration(probabilities: probabilities, labels: labels)
        threshold = k == 2 ? Self.threshold(scores: probabilities.map { $0[pos] }, positive: labels.map { $0 == pos }, targetSensitivity: targetSensitivity) : nil
        confidenceIntervals = Self.bootstrap(probabilities: probabilities, labels: labels, rounds: bootstrap, seed: seed, classes: k, positive: pos,
                                             point: ["accuracy": accuracy, "balanced_accuracy": balancedAccuracy, "roc_auc": rocAUC,
                                                     "sensitivity": k == 2 ? reports[pos].recall : .nan, "specificity": k == 2 ? reports[pos].specificity : .nan])
    }

    /// sklearn's `average_precision_score`: Σ (Rₙ − Rₙ₋₁) Pₙ over decreasing score thresholds.
    public static func averagePrecision(scores: [Double], positive: [Bool]) -> Double {
        let p = positive.filter { $0 }.count
        guard p > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0.0, fp = 0.0, previousRecall = 0.0, ap = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j < order.count && scores[order[j]] == scores[order[i]] {
                if positive[order[j]] { tp += 1 } else { fp += 1 }
                j += 1
            }
            let recall = tp / Double(p), precision = tp / (tp + fp)
            ap += (recall - previousRecall) * precision
            previousRecall = recall
            i = j
        }
        return ap
    }

    /// Expected calibration error over 10 equal-width bins of the top-class confidence.
    static func calibration(probabilities: [[Double]], labels: [Int]) -> (Double, [[Double]]) {
        var bins = [[Double]](repeating: [0, 0, 0], count: 10)
        for (p, y) in zip(probabilities, labels) {
            guard let top = p.indices.max(by: { p[$0] < p[$1] }) else { continue }
            let b = min(9, Int(p[top] * 10))
            bins[b][0] += p[top]
            bins[b][1] += top == y ? 1 : 0
            bins[b][2] += 1
        }
        let n = Double(max(labels.count, 1))
        var ece = 0.0
        var out: [[Double]] = []
        for b in bins where b[2] > 0 {
            let confidence = b[0] / b[2], accuracy = b[1] / b[2]
            ece += b[2] / n * abs(confidence - accuracy)
            out.append([confidence, accuracy, b[2]])
        }
        return (ece, out)
    }

    /// Youden's J (max sensitivity + specificity − 1), or the highest threshold reaching a target sensitivity.
    static func threshold(scores: [Double], positive: [Bool], targetSensitivity: Double?) -> Threshold? {
        let p = Double(positive.filter { $0 }.count), n = Double(positive.count) - p
        guard p > 0, n > 0 else { return nil }
        var best: Threshold?
        for t in Set(scores).sorted(by: >) {
            let tp = Double(zip(scores, positive).filter { $0.0 >= t && $0.1 }.count)
            let fp = Double(zip(scores, positive).filter { $0.0 >= t && !$0.1 }.count)
            let candidate = Threshold(method: targetSensitivity.map { "sensitivity ≥ \($0)" } ?? "youden", threshold: t, sensitivity: tp / p, specificity: 1 - fp / n)
            if let target = targetSensitivity {
                if candidate.sensitivity >= target { return candidate }
            } else if best == nil || candidate.sensitivity + candidate.specificity > best!.sensitivity + best!.specificity {
                best = candidate
            }
        }
        return best
    }

    /// Percentile intervals (2.5 %, 97.5 %) of each metric over resamples with replacement.
    static func bootstrap(probabilities: [[Double]], labels: [Int], rounds: Int, seed: UInt64, classes: Int, positive: Int = 1, point: [String: Double]) -> [String: Estimate] {
        guard rounds > 0, !labels.isEmpty else { return [:] }
        var samples: [String: [Double]] = [:]
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(labels.count))
        }
        for _ in 0..<rounds {
            let idx = (0..<labels.count).map { _ in next() }
            let p = idx.map { probabilities[$0] }, y = idx.map { labels[$0] }
            samples["accuracy", default: []].append(ClassificationMetrics.accuracy(probabilities: p, labels: y))
            samples["roc_auc", default: []].append(ClassificationMetrics.auc(probabilities: p, labels: y))
            let predicted = p.map { q in q.indices.max { q[$0] < q[$1] } ?? 0 }
            var recalls: [Double] = []
            for c in 0..<classes {
                let support = y.filter { $0 == c }.count
                if support > 0 { recalls.append(Double(zip(y, predicted).filter { $0 == c && $1 == c }.count) / Double(support)) }
            }
            samples["balanced_accuracy", default: []].append(recalls.isEmpty ? .nan : recalls.reduce(0, +) / Double(recalls.count))
            if classes == 2 {
                let pos = y.filter { $0 == positive }.count, neg = y.count - pos
                samples["sensitivity", default: []].append(pos > 0 ? Double(zip(y, predicted).filter { $0 == positive && $1 == positive }.count) / Double(pos) : .nan)
                samples["specificity", default: []].append(neg > 0 ? Double(zip(y, predicted).filter { $0 != positive && $1 != positive }.count) / Double(neg) : .nan)
            }
        }
        var out: [String: Estimate] = [:]
        for (name, values) in samples {
            let v = values.filter { !$0.isNaN }.sorted()
            guard !v.isEmpty, let value = point[name], !value.isNaN else { continue }
            func q(_ f: Double) -> Double { v[min(v.count - 1, max(0, Int((f * Double(v.count - 1)).rounded())))] }
            out[name] = Estimate(value: value, low: q(0.025), high: q(0.975))
        }
        return out
    }
}
