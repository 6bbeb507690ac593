import LumenInference
/// Classification metrics from predicted probabilities, as scikit-learn computes them.
public enum ClassificationMetrics {
    /// Fraction of samples whose most probable class is the true one.
    public static func accuracy(probabilities: [[Double]], labels: [Int]) -> Double {
        guard !labels.isEmpty else { return .nan }
        let correct = zip(probabilities, labels).filter { p, y in p.indices.max { p[$0] < p[$1] } == y }.count
        return Double(correct) / Double(labels.count)
    }

    /// Area under the ROC curve of `scores` for the positive samples (Mann–Whitney U, ties counted half),
    /// as `sklearn.metrics.roc_auc_score`; NaN when one class is missing.
    public static func rocAUC(scores: [Double], positive: [Bool]) -> Double {
        RankStatistics.rocAUC(scores: scores, positive: positive)
    }

    /// Binary: the AUC of class 1's probability; multi-class: the unweighted mean of one-vs-rest AUCs.
    public static func auc(probabilities: [[Double]], labels: [Int]) -> Double {
        guard let classes = probabilities.first?.count, classes >= 2 else { return .nan }
        if classes == 2 { return rocAUC(scores: probabilities.map { $0[1] }, positive: labels.map { $0 == 1 }) }
        let aucs = (0..<classes).map { c in rocAUC(scores: probabilities.map { $0[c] }, positive: labels.map { $0 == c }) }.filter { !$0.isNaN }
        return aucs.isEmpty ? .nan : aucs.reduce(0, +) / Double(aucs.count)
    }
}
