import Foundation

/// One feature's drift verdict.
public struct FeatureDrift: Codable, Sendable, Equatable {
    public var feature: String
    /// `ks`, `wasserstein`, `chi2`, `z`, `jensen-shannon` or `psi`.
    public var test: String
    public var statistic: Double
    /// For tests with a p-value (drift when below the threshold); nil for distances (drift when above).
    public var pValue: Double?
    public var threshold: Double
    public var drifted: Bool
    public var referenceCount: Int
    public var currentCount: Int
}

/// Drift of a window of inputs and outputs against a reference: per feature, and for the whole set
/// (dataset drift when at least `driftShare` of the features drift, Evidently's default 0.5).
public struct DriftReport: Codable, Sendable, Equatable {
    public var features: [FeatureDrift]
    public var driftShare: Double
    public var drifted: Bool { Double(features.filter(\.drifted).count) >= driftShare * Double(max(features.count, 1)) && !features.isEmpty }
    public var driftedFeatures: [String] { features.filter(\.drifted).map(\.feature) }

    /// Which test a numerical feature gets with Evidently's defaults, by the reference's size.
    public static func numericalTest(referenceCount: Int) -> String { referenceCount <= 1000 ? "ks" : "wasserstein" }

    /// Compares `current` with `reference`, feature by feature (numerical features by K–S or normed
    /// Wasserstein; categorical ones by chi-squared, Z or Jensen–Shannon), with Evidently's defaults.
    public static func compare(reference: [String: [Double]], current: [String: [Double]],
                               referenceCategories: [String: [String]] = [:], currentCategories: [String: [String]] = [:],
                               driftShare: Double = 0.5, usePSI: Bool = false) -> DriftReport {
        var out: [FeatureDrift] = []
        var categories = referenceCategories, currentCategories = currentCategories
        for name in reference.keys.sorted() {
            guard let ref = reference[name], let cur = current[name], !ref.isEmpty, !cur.isEmpty else { continue }
            // Evidently: a numerical column with at most 5 distinct values is tested as categories.
            if !usePSI && Set(ref + cur).count <= 5 {
                categories[name] = ref.map { String($0) }
                currentCategories[name] = cur.map { String($0) }
                continue
            }
            if usePSI {
                let psi = DriftStatistics.populationStability(reference: ref, current: cur)
                out.append(FeatureDrift(feature: name, test: "psi", statistic: psi, pValue: nil, threshold: 0.1, drifted: psi > 0.1, referenceCount: ref.count, currentCount: cur.count))
            } else if numericalTest(referenceCount: ref.count) == "ks" {
                let (d, p) = DriftStatistics.kolmogorovSmirnov(ref, cur)
                out.append(FeatureDrift(feature: name, test: "ks", statistic: d, pValue: p, threshold: 0.05, drifted: p <= 0.05, referenceCount: ref.count, currentCount: cur.count))
            } else {
                let w = DriftStatistics.normedWasserstein(reference: ref, current: cur)
                out.append(FeatureDrift(feature: name, test: "wasserstein", statistic: w, pValue: nil, threshold: 0.1, drifted: w >= 0.1, referenceCount: ref.count, currentCount: cur.count))
            }
        }
        for name in categories.keys.sorted() {
            guard let ref = categories[name], let cur = currentCategories[name], !ref.isEmpty, !cur.isEmpty else { continue }
            let r = Dictionary(ref.map { ($0, 1) }, uniquingKeysWith: +), c = Dictionary(cur.map { ($0, 1) }, uniquingKeysWith: +)
            let categories = Set(r.keys).union(c.keys).sorted()
            if ref.count > 1000 {
                let js = DriftStatistics.jensenShannon(categories.map { Double(r[$0] ?? 0) }, categories.map { Double(c[$0] ?? 0) })
                out.append(FeatureDrift(feature: name, test: "jensen-shannon", statistic: js, pValue: nil, threshold: 0.1, drifted: js >= 0.1, referenceCount: ref.count, currentCount: cur.count))
            } else if categories.count <= 2 {
                let first = categories.first ?? ""
                let p = DriftStatistics.proportionZTest(referenceHits: r[first] ?? 0, referenceTotal: ref.count, currentHits: c[first] ?? 0, currentTotal: cur.count)
                out.append(FeatureDrift(feature: name, test: "z", statistic: Double(c[first] ?? 0) / Double(cur.count), pValue: p, threshold: 0.05, drifted: p < 0.05, referenceCount: ref.count, currentCount: cur.count))
            } else {
                let (x, p) = DriftStatistics.chiSquared(reference: r, current: c)
                out.append(FeatureDrift(feature: name, test: "chi2", statistic: x, pValue: p, threshold: 0.05, drifted: p < 0.05, referenceCount: ref.count, currentCount: cur.count))
            }
        }
        return DriftReport(features: out, driftShare: driftShare)
    }
}
