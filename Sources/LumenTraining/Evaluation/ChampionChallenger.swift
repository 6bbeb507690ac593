import Foundation
import LumenInference

/// The promotion gate of the retraining loop: a challenger and the champion predict the same held-out
/// images; the metric's difference (challenger − champion) gets a paired bootstrap interval (the same
/// resampled images for both, 95 %); the challenger is promoted only when the difference is at least the
/// margin and the interval's lower end is above zero.
public struct ChallengeDecision: Codable, Sendable {
    public var champion: String
    public var challenger: String
    public var dataset: String
    public var split: String
    public var metric: String
    public var images: Int
    public var championValue: Double
    public var challengerValue: Double
    public var difference: Double
    public var low: Double
    public var high: Double
    public var margin: Double
    public var bootstrap: Int
    /// The rule, in words.
    public var rule: String
    public var promote: Bool
    /// Why, in words.
    public var reason: String
    /// The alias moved to the challenger (when asked and the rule held).
    public var alias: String?
    public var aliasMoved: Bool = false
    public var time: Date = Date()

    public static let tag = "lumen.challenge"
    public static let metrics = ["roc_auc", "accuracy", "sensitivity", "specificity", "balanced_accuracy"]

    /// The metric of `predictions` at `indices` (the positive class: `positive`).
    static func value(_ metric: String, _ predictions: [ScoredImage], _ indices: [Int], classes: Int, positive: Int) -> Double {
        let p = indices.map { predictions[$0] }
        func predicted(_ s: ScoredImage) -> Int { s.probabilities.indices.max { s.probabilities[$0] < s.probabilities[$1] } ?? 0 }
        switch metric {
        case "accuracy":
            return Double(p.filter { predicted($0) == $0.label }.count) / Double(max(p.count, 1))
        case "sensitivity", "specificity":
            let wanted = metric == "sensitivity"
            let group = p.filter { ($0.label == positive) == wanted }
            guard !group.isEmpty else { return .nan }
            return Double(group.filter { (predicted($0) == positive) == wanted }.count) / Double(group.count)
        case "balanced_accuracy":
            let recalls = (0..<classes).compactMap { c -> Double? in
                let members = p.filter { $0.label == c }
                return members.isEmpty ? nil : Double(members.filter { predicted($0) == c }.count) / Double(members.count)
            }
            return recalls.isEmpty ? .nan : recalls.reduce(0, +) / Double(recalls.count)
        default:
            if classes == 2 { return RankStatistics.rocAUC(scores: p.map { $0.probabilities[positive] }, positive: p.map { $0.label == positive }) }
            let aucs = (0..<classes).map { c in RankStatistics.rocAUC(scores: p.map { $0.probabilities[c] }, positive: p.map { $0.label == c }) }.filter { !$0.isNaN }
            return aucs.isEmpty ? .nan : aucs.reduce(0, +) / Double(aucs.count)
        }
    }

    /// Compares two reports of the same images (paired by path).
    public static func decide(champion: ClassificationReport, challenger: ClassificationReport, championName: String, challengerName: String,
                              dataset: String, split: String, metric: String, margin: Double, bootstrap: Int = 1000, seed: UInt64 = 0) throws -> ChallengeDecision {
        guard metrics.contains(metric) else { throw TrainingError.config(path: "--metric", reason: "one of \(metrics.joined(separator: ", "))") }
        guard champion.classes == challenger.classes else {
            throw TrainingError.data("the champion's classes (\(champion.classes.joined(separator: ", "))) are not the challenger's (\(challenger.classes.joined(separator: ", ")))")
        }
        let byPath = Dictionary(challenger.predictions.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var a: [ScoredImage] = [], b: [ScoredImage] = []
        for p in champion.predictions { if let q = byPath[p.path] { a.append(p); b.append(q) } }
        guard a.count >= 10 else { throw TrainingError.data("\(a.count) images predicted by both; a comparison needs at least 10") }
        let k = champion.classes.count, positive = champion.positiveIndex
        let all = Array(a.indices)
        let va = value(metric, a, all, classes: k, positive: positive), vb = value(metric, b, all, classes: k, positive: positive)
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var differences: [Double] = []
        for _ in 0..<bootstrap {
            let sample = (0..<a.count).map { _ in Int(next() % UInt64(a.count)) }
            let d = value(metric, b, sample, classes: k, positive: positive) - value(metric, a, sample, classes: k, positive: positive)
            if !d.isNaN { differences.append(d) }
        }
        differences.sort()
        let low = differences.isEmpty ? .nan : differences[Int(0.025 * Double(differences.count - 1))]
        let high = differences.isEmpty ? .nan : differences[Int(0.975 * Double(differences.count - 1))]
        let difference = vb - va
        let promote = difference >= margin && low > 0
        let rule = "promote when \(metric)(challenger) − \(metric)(champion) ≥ \(margin) and the lower end of its 95 % paired bootstrap interval is above 0"
        let reason: String
        if promote {
            reason = String(format: "%@ %.4f against %.4f: +%.4f (95 %% CI %.4f to %.4f), at least the margin %.4g, the interval above 0", metric, vb, va, difference, low, high, margin)
        } else if difference < margin {
            reason = String(format: "%@ %.4f against %.4f: %+.4f, below the margin %.4g", metric, vb, va, difference, margin)
        } else {
            reason = String(format: "%@ %.4f against %.4f: %+.4f, but its 95 %% interval (%.4f to %.4f) reaches 0", metric, vb, va, difference, low, high)
        }
        return ChallengeDecision(champion: championName, challenger: challengerName, dataset: dataset, split: split, metric: metric, images: a.count,
                                 championValue: va, challengerValue: vb, difference: difference, low: low, high: high, margin: margin, bootstrap: bootstrap,
                                 rule: rule, promote: promote, reason: reason)
    }
}
