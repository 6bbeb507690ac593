import Foundation

/// Principal component analysis of embeddings (rows), as scikit-learn's `PCA(n_components=k)`: the
/// data centred by its mean, the components the covariance's leading eigenvectors (unit length, the
/// largest-magnitude entry of each made positive, as scikit-learn ≥ 1.5 orients them), the explained
/// variance the eigenvalues (divisor n − 1).
///
/// The eigenvectors come from subspace iteration on the covariance with a Rayleigh–Ritz step (k + 10
/// vectors, until the Ritz values settle), which for k ≪ D costs D²·(k + 10) per step instead of a
/// full D³ decomposition; with k + 10 ≥ D it is the exact Jacobi decomposition.
public struct PCA: Codable, Sendable, Equatable {
    public var mean: [Double]
    /// k rows of D values, by decreasing variance.
    public var components: [[Double]]
    public var explainedVariance: [Double]
    /// Each component's share of the total variance.
    public var explainedVarianceRatio: [Double]

    public init(mean: [Double], components: [[Double]], explainedVariance: [Double], explainedVarianceRatio: [Double]) {
        self.mean = mean
        self.components = components
        self.explainedVariance = explainedVariance
        self.explainedVarianceRatio = explainedVarianceRatio
    }

    /// Fits `k` components (at most min(n − 1, D)) to the rows of `rows` (all of one length).
    public static func fit<T: BinaryFloatingPoint>(_ rows: [[T]], components k: Int) -> PCA {
        let n = rows.count, d = rows.first?.count ?? 0
        guard n >= 2, d >= 1, rows.allSatisfy({ $0.count == d }) else { return PCA(mean: [], components: [], explainedVariance: [], explainedVarianceRatio: []) }
        var mean = [Double](repeating: 0, count: d)
        for r in rows { for i in 0..<d { mean[i] += Double(r[i]) } }
        for i in 0..<d { mean[i] /= Double(n) }
        // Upper triangle of the covariance, then mirrored.
        var c = [Double](repeating: 0, count: d * d)
        var x = [Double](repeating: 0, count: d)
        c.withUnsafeMutableBufferPointer { cov in
            for r in rows {
                for i in 0..<d { x[i] = Double(r[i]) - mean[i] }
                x.withUnsafeBufferPointer { xv in
                    for i in 0..<d {
                        let xi = xv[i]
                        if xi == 0 { continue }
                        let base = i * d
                        for j in i..<d { cov[base + j] += xi * xv[j] }
                    }
                }
            }
            for i in 0..<d {
                for j in i..<d {
                    cov[i * d + j] /= Double(n - 1)
                    cov[j * d + i] = cov[i * d + j]
                }
            }
        }
        let total = (0..<d).reduce(0.0) { $0 + c[$1 * d + $1] }
        let keep = max(0, min(k, d, n - 1))
        let (values, vectors) = leadingEigenvectors(c, dimension: d, count: keep)
        let oriented = vectors.map { v -> [Double] in
            let big = v.indices.max { abs(v[$0]) < abs(v[$1]) } ?? 0
            return v[big] < 0 ? v.map { -$0 } : v
        }
        return PCA(mean: mean, components: oriented, explainedVariance: values.map { max(0, $0) },
                   explainedVarianceRatio: values.map { total > 0 ? max(0, $0) / total : 0 })
    }

    /// One row in component coordinates.
    public func project(_ row: [Double]) -> [Double] {
        guard row.count == mean.count else { return [] }
        var centered = row
        for i in centered.indices { centered[i] -= mean[i] }
        return components.map { comp in
            var s = 0.0
            for i in 0..<centered.count { s += centered[i] * comp[i] }
            return s
        }
    }

    /// One row of a network's float32 embedding (serving projects one per answer).
    public func project(_ row: [Float]) -> [Double] { project(row.map(Double.init)) }

    /// One row of any other floating-point type. (Unspecialised across modules, a generic per-element conversion
    /// cost ~0.2 ms per 512-value embedding on every answer; the concrete overloads above are what callers get.)
    public func project<T: BinaryFloatingPoint>(_ row: [T]) -> [Double] { project(row.map { Double($0) }) }

    // MARK: Eigenvectors

    /// The `count` largest eigenvalues of the symmetric `dimension`² matrix `a` (row-major) and their unit eigenvectors.
    static func leadingEigenvectors(_ a: [Double], dimension d: Int, count k: Int) -> (values: [Double], vectors: [[Double]]) {
        guard k > 0 else { return ([], []) }
        let m = min(d, k + 10)
        if m == d {
            let (values, vectors) = jacobi(a, dimension: d)
            return (Array(values.prefix(k)), Array(vectors.prefix(k)))
        }
        // Deterministic start: a fixed pseudo-random D × m block.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var q = (0..<m).map { _ in (0..<d).map { _ -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state >> 11) % 2_000_001) / 1_000_000 - 1
        } }
        orthonormalize(&q)
        var previous = [Double](repeating: .infinity, count: k)
        for iteration in 0..<500 {
            q = q.map { multiply(a, $0, dimension: d) }
            orthonormalize(&q)
            if iteration % 5 == 4 {
                let ritz = rayleighRitz(a, q, dimension: d).values
                let settled = (0..<k).allSatisfy { abs(ritz[$0] - previous[$0]) <= 1e-10 * max(abs(ritz[0]), 1e-300) }
                previous = Array(ritz.prefix(k))
                if settled { break }
            }
        }
        let (values, vectors) = rayleighRitz(a, q, dimension: d)
        return (Array(values.prefix(k)), Array(vectors.prefix(k)))
    }

    static func multiply(_ a: [Double], _ v: [Double], dimension d: Int) -> [Double] {
        var out = [Double](repeating: 0, count: d)
        a.withUnsafeBufferPointer { m in
            v.withUnsafeBufferPointer { x in
                for i in 0..<d {
                    var s = 0.0
                    let base = i * d
                    for j in 0..<d { s += m[base + j] * x[j] }
                    out[i] = s
                }
            }
        }
        return out
    }

    /// Modified Gram–Schmidt, twice (a vector that vanishes is replaced by a unit basis vector and redone).
    static func orthonormalize(_ q: inout [[Double]]) {
        for _ in 0..<2 {
            for i in q.indices {
                for j in 0..<i {
                    let dot = zip(q[i], q[j]).reduce(0) { $0 + $1.0 * $1.1 }
                    for t in q[i].indices { q[i][t] -= dot * q[j][t] }
                }
                let norm = q[i].reduce(0) { $0 + $1 * $1 }.squareRoot()
                if norm > 1e-300 { q[i] = q[i].map { $0 / norm } } else { q[i] = q[i].indices.map { $0 == i % max(q[i].count, 1) ? 1 : 0 } }
            }
        }
    }

    /// Eigenpairs of `a` restricted to the span of the orthonormal rows of `q`, by decreasing value.
    static func rayleighRitz(_ a: [Double], _ q: [[Double]], dimension d: Int) -> (values: [Double], vectors: [[Double]]) {
        let m = q.count
        let aq = q.map { multiply(a, $0, dimension: d) }
        var b = [Double](repeating: 0, count: m * m)
        for i in 0..<m { for j in 0..<m { b[i * m + j] = zip(q[i], aq[j]).reduce(0) { $0 + $1.0 * $1.1 } } }
        for i in 0..<m { for j in (i + 1)..<max(i + 1, m) { let s = (b[i * m + j] + b[j * m + i]) / 2; b[i * m + j] = s; b[j * m + i] = s } }
        let (values, small) = jacobi(b, dimension: m)
        let vectors = small.map { y in (0..<d).map { t in (0..<m).reduce(0.0) { $0 + y[$1] * q[$1][t] } } }
        return (values, vectors)
    }

    /// Every eigenpair of a symmetric matrix by cyclic Jacobi rotations, by decreasing value.
    static func jacobi(_ input: [Double], dimension n: Int) -> (values: [Double], vectors: [[Double]]) {
        var a = input
        var v = [Double](repeating: 0, count: n * n)
        for i in 0..<n { v[i * n + i] = 1 }
        for _ in 0..<100 {
            var off = 0.0
            for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { off += a[i * n + j] * a[i * n + j] } }
            let scale = (0..<n).reduce(0.0) { $0 + a[$1 * n + $1] * a[$1 * n + $1] }
            if off <= 1e-30 * max(scale, 1e-300) { break }
            for p in 0..<n {
                for q in (p + 1)..<max(p + 1, n) {
                    let apq = a[p * n + q]
                    if abs(apq) < 1e-300 { continue }
                    let theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
                    let t = (theta >= 0 ? 1 : -1) / (abs(theta) + (theta * theta + 1).squareRoot())
                    let c = 1 / (t * t + 1).squareRoot(), s = t * c
                    for k in 0..<n {
                        let akp = a[k * n + p], akq = a[k * n + q]
                        a[k * n + p] = c * akp - s * akq
                        a[k * n + q] = s * akp + c * akq
                    }
                    for k in 0..<n {
                        let apk = a[p * n + k], aqk = a[q * n + k]
                        a[p * n + k] = c * apk - s * aqk
                        a[q * n + k] = s * apk + c * aqk
                    }
                    for k in 0..<n {
                        let vkp = v[k * n + p], vkq = v[k * n + q]
                        v[k * n + p] = c * vkp - s * vkq
                        v[k * n + q] = s * vkp + c * vkq
                    }
                }
            }
        }
        let order = (0..<n).sorted { a[$0 * n + $0] > a[$1 * n + $1] }
        return (order.map { a[$0 * n + $0] }, order.map { col in (0..<n).map { v[$0 * n + col] } })
    }
}
