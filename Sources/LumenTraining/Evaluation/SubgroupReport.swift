import Foundation
import LumenData

/// A classifier's metrics per subgroup of the evaluated images (sex, age band, scanner, site, cell type: any
/// manifest column), each with its 95 % bootstrap interval, and the gaps between subgroups whose intervals
/// do not overlap (`lumen evaluate --by COLUMN[,COLUMN]`).
public struct SubgroupReport: Codable, Sendable {
    public struct Group: Codable, Sendable {
        /// The group's values of the columns, e.g. ["mono"] or ["F", "Siemens"].
        public var values: [String]
        public var images: Int
        /// accuracy, sensitivity, specificity, roc_auc (binary) or accuracy, balanced_accuracy, roc_auc.
        public var metrics: [String: Estimate]
    }
    /// Two groups whose intervals of a metric do not overlap.
    public struct Gap: Codable, Sendable {
        public var metric: String
        public var low: [String]
        public var high: [String]
    }
    public var columns: [String]
    public var groups: [Group]
    public var gaps: [Gap]

    /// Refuses a column the dataset does not have (before any work), naming the ones it has.
    public static func check(columns: [String], in version: DatasetVersion) throws {
        let known = Set(version.entries.flatMap { $0.metadata.keys }).union(["label", "group", "split"])
        if let unknown = columns.first(where: { !known.contains($0) }) {
            throw TrainingError.config(path: "--by", reason: "no column '\(unknown)' in \(version.reference) (columns: \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// Splits `report`'s predictions by the entries' values of `columns` (`label`, `group`, `split` or a
    /// metadata column); groups of fewer than `minimum` images are left out.
    public init(_ report: ClassificationReport, version: DatasetVersion, columns: [String], bootstrap: Int = 500, minimum: Int = 5) throws {
        let entries = Dictionary(version.entries.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        try Self.check(columns: columns, in: version)
        func value(_ e: DatasetEntry?, _ column: String) -> String {
            guard let e else { return "?" }
            switch column {
            case "label": return e.label ?? "(none)"
            case "group": return e.group ?? "(none)"
            case "split": return e.split ?? "(none)"
            default: return e.metadata[column] ?? "(none)"
            }
        }
        let grouped = Dictionary(grouping: report.predictions) { p in columns.map { value(entries[p.path], $0) } }
        self.init(classes: report.classes, positive: report.positiveIndex, grouped: grouped, columns: columns, bootstrap: bootstrap, minimum: minimum)
    }

    /// The metrics of predictions already grouped by their values of `columns` (served traffic by its
    /// logged acquisition features, `lumen monitor --by`); groups of fewer than `minimum` are left out.
    public init(classes: [String], positive: Int, grouped: [[String]: [ScoredImage]], columns: [String], bootstrap: Int = 500, minimum: Int = 5) {
        self.columns = columns
        groups = grouped.keys.sorted { $0.joined(separator: "\u{1F}") < $1.joined(separator: "\u{1F}") }.compactMap { key in
            let members = grouped[key]!
            guard members.count >= minimum else { return nil }
            let r = ClassificationReport(classes: classes, predictions: members, bootstrap: bootstrap, positive: positive)
            var metrics: [String: Estimate] = [:]
            for name in ["accuracy", "balanced_accuracy", "sensitivity", "specificity", "roc_auc"] {
                if let e = r.confidenceIntervals[name] { metrics[name] = e }
            }
            return Group(values: key, images: members.count, metrics: metrics)
        }
        var gaps: [Gap] = []
        for metric in ["sensitivity", "specificity", "roc_auc", "accuracy"] {
            let have = groups.filter { $0.metrics[metric].map { !$0.low.isNaN && !$0.high.isNaN } ?? false }
            for (i, a) in have.enumerated() {
                for b in have[(i + 1)...] {
                    let ea = a.metrics[metric]!, eb = b.metrics[metric]!
                    if ea.high < eb.low { gaps.append(Gap(metric: metric, low: a.values, high: b.values)) }
                    if eb.high < ea.low { gaps.append(Gap(metric: metric, low: b.values, high: a.values)) }
                }
            }
        }
        self.gaps = gaps
    }
}
