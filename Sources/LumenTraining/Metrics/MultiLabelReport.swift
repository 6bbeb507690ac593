import Foundation
import LumenNN
import LumenTensor

/// Binary cross-entropy on logits against multi-hot targets: one independent decision per label.
public struct MultiLabelLoss: Loss {
    public init() {}
    public func callAsFunction(_ logits: Tensor, _ target: Tensor) throws(LumenError) -> Tensor {
        try binaryCrossEntropyWithLogits(logits, target.to(logits.dtype))
    }
}

/// One image of a multi-label evaluation: which labels it has (0/1 per class) and the predicted probabilities.
public struct MultiLabelPrediction: Codable, Sendable {
    public var path: String
    public var labels: [Int]
    public var probabilities: [Double]

    public init(path: String, labels: [Int], probabilities: [Double]) {
        self.path = path
        self.labels = labels
        self.probabilities = probabilities
    }
}

/// One label's figures; precision, recall and F1 at the decision threshold (0 when undefined, as
/// scikit-learn's `zero_division=0`).
public struct LabelReport: Codable, Sendable {
    public var name: String
    public var rocAUC: Double
    public var averagePrecision: Double
    public var precision: Double
    public var recall: Double
    public var f1: Double
    public var support: Int
}

/// Multi-label classification (several findings per image), as scikit-learn computes it: per-label
/// ROC-AUC and average precision, precision/recall/F1 at the threshold, micro and macro F1, macro AUC
/// over the labels with both outcomes present, subset accuracy and Hamming loss.
public struct MultiLabelReport: Codable, Sendable {
    public var classes: [String]
    public var samples: Int
    public var threshold: Double
    public var perLabel: [LabelReport]
    public var macroAUC: Double
    public var macroAveragePrecision: Double
    public var macroF1: Double
    public var microF1: Double
    /// Fraction of images whose whole label set is predicted exactly.
    public var subsetAccuracy: Double
    /// Fraction of wrong label decisions.
    public var hammingLoss: Double
    public var predictions: [MultiLabelPrediction]

    public init(classes: [String], predictions: [MultiLabelPrediction], threshold: Double = 0.5) {
        self.classes = classes
        self.predictions = predictions
        self.threshold = threshold
        samples = predictions.count
        func mean(_ v: [Double]) -> Double { let d = v.filter { !$0.isNaN }; return d.isEmpty ? .nan : d.reduce(0, +) / Double(d.count) }
        var tpAll = 0, fpAll = 0, fnAll = 0
        perLabel = classes.indices.map { c in
            let truth = predictions.map { $0.labels[c] == 1 }, scores = predictions.map { $0.probabilities[c] }
            let decided = scores.map { $0 >= threshold }
            let tp = zip(decided, truth).filter { $0 && $1 }.count, fp = zip(decided, truth).filter { $0 && !$1 }.count
            let fn = zip(decided, truth).filter { !$0 && $1 }.count
            tpAll += tp; fpAll += fp; fnAll += fn
            let precision = tp + fp == 0 ? 0 : Double(tp) / Double(tp + fp), recall = tp + fn == 0 ? 0 : Double(tp) / Double(tp + fn)
            return LabelReport(name: classes[c], rocAUC: ClassificationMetrics.rocAUC(scores: scores, positive: truth),
                               averagePrecision: ClassificationReport.averagePrecision(scores: scores, positive: truth),
                               precision: precision, recall: recall, f1: 2 * tp + fp + fn == 0 ? 0 : 2 * Double(tp) / Double(2 * tp + fp + fn),
                               support: truth.filter { $0 }.count)
        }
        macroAUC = mean(perLabel.map(\.rocAUC))
        macroAveragePrecision = mean(perLabel.map(\.averagePrecision))
        macroF1 = perLabel.isEmpty ? .nan : perLabel.map(\.f1).reduce(0, +) / Double(perLabel.count)
        microF1 = 2 * tpAll + fpAll + fnAll == 0 ? 0 : 2 * Double(tpAll) / Double(2 * tpAll + fpAll + fnAll)
        let decisions = predictions.map { p in p.probabilities.map { $0 >= threshold ? 1 : 0 } }
        subsetAccuracy = samples == 0 ? .nan : Double(zip(decisions, predictions).filter { $0 == $1.labels }.count) / Double(samples)
        let wrong = zip(decisions, predictions).reduce(0) { acc, pair in acc + zip(pair.0, pair.1.labels).filter { $0 != $1 }.count }
        hammingLoss = samples == 0 || classes.isEmpty ? .nan : Double(wrong) / Double(samples * classes.count)
    }
}
