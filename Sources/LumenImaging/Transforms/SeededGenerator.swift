import Foundation

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same stream on every
/// platform, which makes augmentation and splits reproducible.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one item of a stream (`seed`, `epoch`, `index`), independent of the order in
    /// which items are processed (so worker threads do not change results).
    public init(seed: UInt64, stream: UInt64, index: UInt64) {
        var g = SeededGenerator(seed: seed ^ (stream &* 0x9E37_79B9_7F4A_7C15))
        state = g.next() ^ (index &* 0xD1B5_4A32_D192_ED03)
        _ = next()
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `lo..<hi` (`lo` when the range is empty or not a number). Never traps: a span too wide for a
    /// Double (`-1e308..<1e308`) is drawn around its midpoint instead of through `Double.random(in:)`.
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double {
        guard hi > lo else { return lo }
        guard (hi - lo).isFinite else {
            let mid = lo / 2 + hi / 2, half = hi / 2 - lo / 2
            guard mid.isFinite, half.isFinite else { return lo.isFinite ? lo : (hi.isFinite ? hi : 0) }
            return mid + half * Double.random(in: -1..<1, using: &self)
        }
        return Double.random(in: lo..<hi, using: &self)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { p >= 1 || (p > 0 && uniform(0, 1) < p) }

    /// A standard normal sample (Box–Muller).
    public mutating func gaussian() -> Double {
        let u1 = max(uniform(0, 1), 1e-12), u2 = uniform(0, 1)
        return (-2 * _log(u1)).squareRoot() * _cos(2 * .pi * u2)
    }
}

@inline(__always) func _log(_ x: Double) -> Double { x.isFinite && x > 0 ? Foundation.log(x) : -.infinity }
@inline(__always) func _cos(_ x: Double) -> Double { Foundation.cos(x) }
