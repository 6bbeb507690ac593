import Foundation

/// The statistical tests of data drift, one feature at a time, with Evidently's defaults as the
/// documented baseline (DataDriftPreset): under 1,000 reference values, the two-sample Kolmogorov–Smirnov
/// test for numbers (drift when p ≤ 0.05) and the chi-squared test for categories (p < 0.05; a Z-test
/// for two categories); above 1,000, the Wasserstein distance normed by the reference's standard
/// deviation (drift from 0.1) and the Jensen–Shannon distance for categories (from 0.1). A numerical
/// feature with at most 5 distinct values is tested as categories. PSI (drift
/// above 0.1) on request. Each statistic equals SciPy's on the same inputs (`interop/test_drift.py`).
public enum DriftStatistics {
    // MARK: Kolmogorov–Smirnov

    /// The two-sample K–S statistic D (as SciPy's `ks_2samp`) and its p-value from the limiting Kolmogorov
    /// distribution, Smirnov's asymptotic formula `kstwobign.sf(√(nm/(n+m))·D)`. SciPy's default (exact for
    /// small samples) differs by a few percent of the p-value; verdicts agree except right at 0.05.
    public static func kolmogorovSmirnov(_ a: [Double], _ b: [Double]) -> (statistic: Double, pValue: Double) {
        let x = a.sorted(), y = b.sorted()
        guard !x.isEmpty, !y.isEmpty else { return (0, 1) }
        var i = 0, j = 0, d = 0.0
        let n = Double(x.count), m = Double(y.count)
        while i < x.count && j < y.count {
            let v = min(x[i], y[j])
            while i < x.count && x[i] <= v { i += 1 }
            while j < y.count && y[j] <= v { j += 1 }
            d = max(d, abs(Double(i) / n - Double(j) / m))
        }
        let en = n * m / (n + m)
        return (d, kolmogorovSurvival(en.squareRoot() * d))
    }

    /// P(K > x) of the limiting Kolmogorov distribution (SciPy's `kstwobign.sf`).
    public static func kolmogorovSurvival(_ x: Double) -> Double {
        guard x > 0 else { return 1 }
        if x < 0.2 { return 1 }
        var sum = 0.0
        for k in 1...100 {
            let term = exp(-2 * Double(k * k) * x * x)
            sum += (k % 2 == 1 ? 1 : -1) * term
            if term < 1e-18 { break }
        }
        return min(1, max(0, 2 * sum))
    }

    // MARK: Wasserstein

    /// The 1-D Wasserstein (earth mover's) distance between two samples (SciPy's `wasserstein_distance`).
    public static func wasserstein(_ a: [Double], _ b: [Double]) -> Double {
        let x = a.sorted(), y = b.sorted()
        guard !x.isEmpty, !y.isEmpty else { return 0 }
        let all = (x + y).sorted()
        var total = 0.0, i = 0, j = 0
        for k in 0..<(all.count - 1) {
            while i < x.count && x[i] <= all[k] { i += 1 }
            while j < y.count && y[j] <= all[k] { j += 1 }
            total += abs(Double(i) / Double(x.count) - Double(j) / Double(y.count)) * (all[k + 1] - all[k])
        }
        return total
    }

    /// Wasserstein distance divided by the reference's standard deviation (population, at least 0.001: Evidently's normed form).
    public static func normedWasserstein(reference: [Double], current: [Double]) -> Double {
        let sd = standardDeviation(reference)
        return wasserstein(reference, current) / max(sd, 0.001)
    }

    // MARK: Histograms, Jensen–Shannon, PSI

    /// Counts of both samples over `bins` equal-width bins spanning both.
    public static func histograms(_ a: [Double], _ b: [Double], bins: Int = 30) -> ([Double], [Double]) {
        let lo = min(a.min() ?? 0, b.min() ?? 0), hi = max(a.max() ?? 0, b.max() ?? 0)
        let width = hi > lo ? (hi - lo) / Double(bins) : 1
        func counts(_ v: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: bins)
            for x in v { c[min(bins - 1, max(0, Int((x - lo) / width)))] += 1 }
            return c
        }
        return (counts(a), counts(b))
    }

    /// The Jensen–Shannon distance (square root of the divergence, natural log) between two count or
    /// probability vectors (SciPy's `scipy.spatial.distance.jensenshannon`).
    public static func jensenShannon(_ p: [Double], _ q: [Double]) -> Double {
        let sp = p.reduce(0, +), sq = q.reduce(0, +)
        guard sp > 0, sq > 0, p.count == q.count else { return 0 }
        var divergence = 0.0
        for (a, b) in zip(p.map { $0 / sp }, q.map { $0 / sq }) {
            let m = (a + b) / 2
            if a > 0 { divergence += a * log(a / m) / 2 }
            if b > 0 { divergence += b * log(b / m) / 2 }
        }
        return max(0, divergence).squareRoot()
    }

    /// The population stability index over the reference's deciles (each share floored at 1e-4).
    public static func populationStability(reference: [Double], current: [Double], bins: Int = 10) -> Double {
        let sorted = reference.sorted()
        guard !sorted.isEmpty, !current.isEmpty else { return 0 }
        var edges: [Double] = (1..<bins).map { sorted[min(sorted.count - 1, $0 * sorted.count / bins)] }
        edges = Array(Set(edges)).sorted()
        func shares(_ v: [Double]) -> [Double] {
            var c = [Double](repeating: 0, count: edges.count + 1)
            for x in v {
                var k = 0
                while k < edges.count && x >= edges[k] { k += 1 }
                c[k] += 1
            }
            return c.map { max($0 / Double(v.count), 1e-4) }
        }
        let r = shares(reference), c = shares(current)
        return zip(r, c).reduce(0) { $0 + ($1.1 - $1.0) * log($1.1 / $1.0) }
    }

    // MARK: Categories

    /// Pearson's chi-squared goodness-of-fit of `current` counts against the reference's proportions
    /// (SciPy's `chisquare(current, expected)` with expected scaled to the current total).
    public static func chiSquared(reference: [String: Int], current: [String: Int]) -> (statistic: Double, pValue: Double) {
        let keys = Set(reference.keys).union(current.keys).sorted()
        let rTotal = Double(reference.values.reduce(0, +)), cTotal = Double(current.values.reduce(0, +))
        guard rTotal > 0, cTotal > 0, keys.count > 1 else { return (0, 1) }
        var statistic = 0.0
        for k in keys {
            let expected = max(Double(reference[k] ?? 0) / rTotal, 1e-6) * cTotal
            let observed = Double(current[k] ?? 0)
            statistic += (observed - expected) * (observed - expected) / expected
        }
        return (statistic, chiSquaredSurvival(statistic, degrees: Double(keys.count - 1)))
    }

    /// P(X > x) for a chi-squared variable with `k` degrees of freedom: the regularised upper incomplete gamma Q(k/2, x/2).
    public static func chiSquaredSurvival(_ x: Double, degrees k: Double) -> Double {
        guard x > 0 else { return 1 }
        return upperRegularizedGamma(k / 2, x / 2)
    }

    static func upperRegularizedGamma(_ a: Double, _ x: Double) -> Double {
        if x < a + 1 {
            // Series for P(a, x), then Q = 1 − P.
            var sum = 1 / a, term = 1 / a, n = a
            for _ in 0..<1000 {
                n += 1
                term *= x / n
                sum += term
                if abs(term) < abs(sum) * 1e-15 { break }
            }
            return max(0, 1 - sum * exp(-x + a * log(x) - lgamma(a)))
        }
        // Continued fraction (Lentz) for Q(a, x).
        var b = x + 1 - a, c = 1 / 1e-300, d = 1 / b, h = d
        for i in 1..<1000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b; if abs(d) < 1e-300 { d = 1e-300 }
            c = b + an / c; if abs(c) < 1e-300 { c = 1e-300 }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < 1e-15 { break }
        }
        return min(1, exp(-x + a * log(x) - lgamma(a)) * h)
    }

    /// Two-proportion Z-test of one category's share (two-sided p-value), for binary features.
    public static func proportionZTest(referenceHits: Int, referenceTotal: Int, currentHits: Int, currentTotal: Int) -> Double {
        guard referenceTotal > 0, currentTotal > 0 else { return 1 }
        let p1 = Double(referenceHits) / Double(referenceTotal), p2 = Double(currentHits) / Double(currentTotal)
        let p = Double(referenceHits + currentHits) / Double(referenceTotal + currentTotal)
        let se = (p * (1 - p) * (1 / Double(referenceTotal) + 1 / Double(currentTotal))).squareRoot()
        guard se > 0 else { return p1 == p2 ? 1 : 0 }
        let z = abs(p1 - p2) / se
        return erfc(z / 2.0.squareRoot())
    }

    static func standardDeviation(_ v: [Double]) -> Double {
        guard v.count > 1 else { return 0 }
        let mean = v.reduce(0, +) / Double(v.count)
        return (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)).squareRoot()
    }
}
