import Foundation

/// Rank statistics shared by evaluation and monitoring.
public enum RankStatistics {
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
}
