import Foundation
import LumenMonitoring
import Testing

/// Rows of `d` values with decreasing spread per direction (spread 1/(j+1)), shifted by `shift` along the first axis.
func embeddingRows(_ n: Int, dimension d: Int, shift: Double = 0, seed: UInt64) -> [[Double]] {
    let columns = (0..<d).map { normals(n, sd: 1 / Double($0 + 1), seed: seed &* 131 &+ UInt64($0)) }
    return (0..<n).map { i in (0..<d).map { j in columns[j][i] + (j == 0 ? shift : 0) } }
}

@Suite("PCA and embedding drift")
struct EmbeddingDriftTests {
    /// Components of a known covariance: unit, orthogonal, eigenvectors (C·v = λ·v), ordered, and the
    /// subspace iteration (D > k + 10) agrees with the exact Jacobi decomposition.
    @Test func pcaFindsTheCovariancesEigenvectors() {
        let d = 40
        // A rotated set: mix the axes so that components are not the unit vectors.
        let raw = embeddingRows(400, dimension: d, seed: 7)
        let rows = raw.map { r in (0..<d).map { j in (r[j] + r[(j + 1) % d] * 0.5 - r[(j + 7) % d] * 0.3) } }
        let pca = PCA.fit(rows, components: 5)
        #expect(pca.components.count == 5 && pca.explainedVariance.count == 5)
        #expect(zip(pca.explainedVariance, pca.explainedVariance.dropFirst()).allSatisfy { $0 >= $1 }, "decreasing variance")
        // The covariance, to check C·v = λ·v.
        let mean = pca.mean
        var c = [Double](repeating: 0, count: d * d)
        for r in rows { for i in 0..<d { for j in 0..<d { c[i * d + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / Double(rows.count - 1) } } }
        for (v, lambda) in zip(pca.components, pca.explainedVariance) {
            #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-9, "unit length")
            let cv = (0..<d).map { i in (0..<d).reduce(0.0) { $0 + c[i * d + $1] * v[$1] } }
            let residual = zip(cv, v).reduce(0.0) { max($0, abs($1.0 - lambda * $1.1)) }
            #expect(residual < 1e-6 * max(lambda, 1), "eigenvector residual \(residual) for λ \(lambda)")
            let big = v.indices.max { abs(v[$0]) < abs(v[$1]) }!
            #expect(v[big] > 0, "largest entry positive (scikit-learn's orientation)")
        }
        for i in 0..<5 { for j in (i + 1)..<5 { #expect(abs(zip(pca.components[i], pca.components[j]).reduce(0) { $0 + $1.0 * $1.1 }) < 1e-8) } }
        let exact = PCA.fit(rows, components: 30)   // 30 + 10 ≥ 40: Jacobi on the whole covariance
        for i in 0..<5 { #expect(abs(exact.explainedVariance[i] - pca.explainedVariance[i]) < 1e-9 * exact.explainedVariance[0]) }
        let total = (0..<d).reduce(0.0) { $0 + c[$1 * d + $1] }
        #expect(abs(pca.explainedVarianceRatio[0] - pca.explainedVariance[0] / total) < 1e-12)
        // Projection: the mean goes to 0, a component direction to its unit coordinate.
        #expect(pca.project(mean).allSatisfy { abs($0) < 1e-12 })
        let along = zip(mean, pca.components[1]).map { $0 + 2 * $1 }
        let p = pca.project(along)
        #expect(abs(p[1] - 2) < 1e-9 && abs(p[0]) < 1e-9)
    }

    /// The four methods on the same distribution say no drift; on a shifted one, drift. (Evidently's
    /// share-of-components rule, a normed Wasserstein distance of 0.1 per component, fires on sampling
    /// noise alone below about a thousand rows a side: 5 of 8 components at 300 against 200 rows.)
    @Test func shiftedEmbeddingsDriftAndUnchangedOnesDoNot() async throws {
        let reference = embeddingRows(1500, dimension: 8, seed: 1)
        // Seconds of CPU in a debug build: on a thread of its own (see `offPool`).
        let (sameResult, shiftedResult) = await offPool {
            (EmbeddingDrift.compare(reference: reference, current: embeddingRows(1500, dimension: 8, seed: 2), permutations: 50),
             EmbeddingDrift.compare(reference: reference, current: embeddingRows(1500, dimension: 8, shift: 0.6, seed: 3), permutations: 50))
        }
        let same = try #require(sameResult)
        let shifted = try #require(shiftedResult)
        let byName = { (e: EmbeddingDrift) in Dictionary(uniqueKeysWithValues: e.methods.map { ($0.method, $0) }) }
        #expect(!same.drifted && byName(same).values.allSatisfy { !$0.drifted }, "\(same.methods.map { "\($0.method) \($0.statistic) \($0.drifted)" })")
        #expect(shifted.drifted && byName(shifted).values.filter { $0.method != "ratio" }.allSatisfy { $0.drifted }, "\(shifted.methods)")
        #expect(byName(shifted)["ratio"]!.statistic == 1.0 / 8 && !byName(shifted)["ratio"]!.drifted, "one component of 8 moved: under the 20 % rule")
        #expect(byName(shifted)["domain_classifier"]!.statistic > 0.6 && byName(same)["domain_classifier"]!.statistic < 0.6)
        #expect(byName(shifted)["mmd"]!.pValue! < 0.05 && byName(same)["mmd"]!.pValue! > 0.05)
        #expect(byName(same)["domain_classifier"]!.threshold == 0.55, "a reference of 1,000 rows or more: Evidently's 0.55")
        // A reference under 1,000 rows gets the random scorer's 95th percentile, above 0.5.
        let small = try #require(EmbeddingDrift.compare(reference: Array(reference.prefix(300)), current: embeddingRows(200, dimension: 8, seed: 4), permutations: 20))
        let threshold = small.methods[0].threshold
        #expect(threshold > 0.5 && threshold < 0.6 && !small.drifted, "\(small.methods)")
        #expect(EmbeddingDrift.compare(reference: reference, current: [[1, 2]]) == nil, "too few or mismatched rows say nothing")
    }

    /// ROC-AUC with ties, and a separable problem fitted by the logistic regression.
    @Test func rocAUCAndLogisticRegression() {
        #expect(EmbeddingDrift.rocAUC(scores: [0.1, 0.4, 0.35, 0.8], labels: [false, false, true, true]) == 0.75)
        #expect(EmbeddingDrift.rocAUC(scores: [0.5, 0.5, 0.5, 0.5], labels: [false, true, false, true]) == 0.5)
        let x: [[Double]] = (0..<200).map { (i: Int) -> [Double] in
            let side: Double = i % 2 == 0 ? 1 : -1
            return [side + Double(i % 7) * 0.01, Double(i % 5)]
        }
        let y = (0..<200).map { Double($0 % 2 == 0 ? 1 : 0) }
        let (w, _) = EmbeddingDrift.logisticRegression(x, y, alpha: 1e-2)
        #expect(w[0] > 1 && abs(w[1]) < 0.5, "\(w)")
    }
}
