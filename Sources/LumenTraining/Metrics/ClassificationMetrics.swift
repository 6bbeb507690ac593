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
        let p = positive.filter { $0 }.count, n = positive.count - p
        guard p > 0, n > 0 else { return .nan }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var ranks = [Double](repeating: 0, count: scores.count)
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count && scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let rank = Double(i + j) / 2 + 1
            for k in i...j { ranks[order[k]] = rank }
            i = j + 1
        }
        let sum = zip(ranks, positive).filter { $0.1 }.reduce(0) { $0 + $1.0 }
        return (sum - Double(p * (p + 1)) / 2) / Double(p * n)
    }

    /// Binary: the AUC of class 1's probability; multi-class: the unweighted mean of one-vs-rest AUCs.
    public static func auc(probabilities: [[Double]], labels: [Int]) -> Double {
        guard let classes = probabilities.first?.count, classes >= 2 else { return .nan }
        if classes == 2 { return rocAUC(scores: probabilities.map { $0[1] }, positive: labels.map { $0 == 1 }) }
        let aucs = (0..<classes).map { c in rocAUC(scores: probabilities.map { $0[c] }, positive: labels.map { $0 == c }) }.filter { !$0.isNaN }
        return aucs.isEmpty ? .nan : aucs.reduce(0, +) / Double(aucs.count)
    }
}
