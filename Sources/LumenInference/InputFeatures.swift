import Foundation
import LumenImaging

/// What monitoring compares of an input: summary statistics of the model's preprocessed input (what the
/// network actually sees), the same in the reference profile and in every prediction log.
public enum InputFeatures {
    /// The feature names, in order.
    public static let names = ["intensity_mean", "intensity_std", "intensity_p05", "intensity_p50", "intensity_p95", "intensity_entropy"]

    public static func of(_ plane: Plane) -> [String: Double] {
        let values = plane.values
        guard !values.isEmpty else { return [:] }
        let n = Double(values.count)
        let mean = values.reduce(0.0) { $0 + Double($1) } / n
        let variance = values.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        let sorted = values.sorted()
        func q(_ p: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))]) }
        // Shannon entropy (bits) of a 64-bin histogram over the plane's own range.
        let lo = Double(sorted.first!), hi = Double(sorted.last!)
        var histogram = [Double](repeating: 0, count: 64)
        if hi > lo { for v in values { histogram[min(63, Int((Double(v) - lo) / (hi - lo) * 64))] += 1 } } else { histogram[0] = n }
        let entropy = histogram.reduce(0.0) { $1 > 0 ? $0 - ($1 / n) * log2($1 / n) : $0 }
        return ["intensity_mean": mean, "intensity_std": variance.squareRoot(), "intensity_p05": q(0.05), "intensity_p50": q(0.5),
                "intensity_p95": q(0.95), "intensity_entropy": entropy]
    }
}
