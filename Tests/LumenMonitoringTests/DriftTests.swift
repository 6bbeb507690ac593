import Foundation
import LumenMonitoring
import Testing

/// A seeded normal sample (Box–Muller over SplitMix64).
func normals(_ n: Int, mean: Double = 0, sd: Double = 1, seed: UInt64) -> [Double] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    func uniform() -> Double {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (Double((z ^ (z >> 31)) >> 11) + 0.5) / Double(1 << 53)
    }
    return (0..<n).map { _ in mean + sd * (-2 * log(uniform())).squareRoot() * cos(2 * .pi * uniform()) }
}

@Suite("Drift statistics")
struct DriftStatisticsTests {
    @Test func kolmogorovSmirnovExtremesAndKnownValues() {
        #expect(DriftStatistics.kolmogorovSmirnov([1, 2, 3], [1, 2, 3]) == (0, 1))
        let disjoint = DriftStatistics.kolmogorovSmirnov([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
        #expect(disjoint.statistic == 1)
        // kstwobign.sf(sqrt(2.5)) = 2 (e^-5 − e^-20 + …) = 0.013476 (SciPy's ks_2samp(..., method="asymp").pvalue).
        #expect(abs(disjoint.pValue - 0.013_475_9) < 1e-6, "\(disjoint.pValue)")
        // Ties are counted as SciPy counts them.
        #expect(DriftStatistics.kolmogorovSmirnov([1, 1, 2, 2], [1, 2, 2, 2]).statistic == 0.25)
        #expect(abs(DriftStatistics.kolmogorovSurvival(1.358) - 0.05) < 1e-3, "the 5 % critical value of the Kolmogorov distribution")
    }

    @Test func distancesAndTheirKnownValues() {
        #expect(abs(DriftStatistics.wasserstein([0, 1, 3], [5, 6, 8]) - 5) < 1e-12)
        #expect(abs(DriftStatistics.wasserstein([0, 10], [0, 5, 10]) - 5.0 / 3.0) < 1e-12)
        #expect(DriftStatistics.jensenShannon([1, 2, 3], [2, 4, 6]) < 1e-12)
        #expect(abs(DriftStatistics.jensenShannon([1, 0], [0, 1]) - log(2).squareRoot()) < 1e-12)
        #expect(abs(DriftStatistics.chiSquaredSurvival(3.841_458_8, degrees: 1) - 0.05) < 1e-6)
        #expect(abs(DriftStatistics.chiSquaredSurvival(11.070_497_7, degrees: 5) - 0.05) < 1e-6)
        #expect(abs(DriftStatistics.chiSquaredSurvival(30, degrees: 10) - 0.000_857_1) < 1e-6)
        let reference = normals(2000, seed: 1)
        #expect(DriftStatistics.populationStability(reference: reference, current: reference) < 1e-9)
        #expect(DriftStatistics.populationStability(reference: reference, current: normals(2000, mean: 0.5, seed: 2)) > 0.1)
        #expect(abs(DriftStatistics.proportionZTest(referenceHits: 50, referenceTotal: 100, currentHits: 50, currentTotal: 100) - 1) < 1e-12)
    }

    /// Shifts of 0.3 standard deviations are found by both defaults (K–S under 1,000 reference values,
    /// normed Wasserstein above); an unchanged stream is flagged at about the tests' false-alarm rate.
    @Test func driftIsFoundAndAnUnchangedStreamRarelyIs() {
        var falseAlarms = 0, missed = 0
        for seed in 0..<100 {
            let reference = ["x": normals(500, seed: UInt64(seed))]
            if DriftReport.compare(reference: reference, current: ["x": normals(300, seed: UInt64(seed + 1000))]).drifted { falseAlarms += 1 }
            if !DriftReport.compare(reference: reference, current: ["x": normals(300, mean: 0.3, seed: UInt64(seed + 2000))]).drifted { missed += 1 }
        }
        #expect(falseAlarms <= 12, "K–S at p < 0.05: about 5 false alarms in 100 (\(falseAlarms))")
        #expect(missed <= 10, "a 0.3 σ shift with 500 vs 300 values is found (\(missed) missed of 100)")
        let big = ["x": normals(5000, seed: 7)]
        let shifted = DriftReport.compare(reference: big, current: ["x": normals(2000, mean: 0.3, seed: 8)])
        #expect(shifted.features[0].test == "wasserstein" && shifted.drifted)
        #expect(!DriftReport.compare(reference: big, current: ["x": normals(2000, seed: 9)]).drifted)
        // Categories: a changed label mix is found by chi-squared.
        let labels = Array(repeating: "a", count: 300) + Array(repeating: "b", count: 300) + Array(repeating: "c", count: 300)
        let skewed = Array(repeating: "a", count: 200) + Array(repeating: "b", count: 50) + Array(repeating: "c", count: 50)
        let report = DriftReport.compare(reference: [:], current: [:], referenceCategories: ["label": labels], currentCategories: ["label": skewed])
        #expect(report.features[0].test == "chi2" && report.drifted)
        #expect(!DriftReport.compare(reference: [:], current: [:], referenceCategories: ["label": labels], currentCategories: ["label": Array(labels[0..<100] + labels[300..<400] + labels[600..<700])]).features[0].drifted)
    }
}
