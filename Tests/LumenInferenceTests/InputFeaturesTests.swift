import Foundation
import LumenImaging
@testable import LumenInference
import LumenTensor
import Testing

/// The monitoring features' order statistics come from quickselect: the values a full sort gives, for any input.
@Suite struct InputFeaturesTests {
    @Test func orderStatisticsEqualSortedValues() throws {
        Runtime.manualSeed(42)  // libtorch's generator: a failure repeats
        for trial in 0..<300 {
            let n = [1, 2, 3, 5, 17, 100, 1_000, 16_384][trial % 8]
            let levels = [2, 7, 256, 1 << 20][trial % 4]  // many ties, some, none
            let values = try Tensor.randint(0, levels, [n]).int64s().map { Float($0) / Float(levels) - 0.3 }
            let sorted = values.sorted()
            let ranks = [0.05, 0.5, 0.95].map { min(n - 1, Int($0 * Double(n - 1))) }
            var work = values
            #expect(InputFeatures.orderStatistics(&work, ranks: ranks) == ranks.map { sorted[$0] }, "n \(n), levels \(levels)")
            #expect(work.sorted() == sorted, "a permutation of the input")
        }
        var ascending: [Float] = (0..<1_000).map(Float.init), descending = Array(ascending.reversed())
        #expect(InputFeatures.orderStatistics(&ascending, ranks: [0, 499, 999]) == [0, 499, 999])
        #expect(InputFeatures.orderStatistics(&descending, ranks: [49, 500, 949]) == [49, 500, 949])
    }

    @Test func featuresMatchAFullSort() throws {
        Runtime.manualSeed(7)
        for (w, h, c) in [(224, 224, 3), (64, 64, 1), (3, 1, 1)] {
            let values = try (Tensor.rand([w * h * c]) * 5 - 2).floats()
            let f = InputFeatures.of(Plane(width: w, height: h, channels: c, values: values))
            let sample = values.count > 16_384 ? stride(from: 0, to: values.count, by: (values.count + 16_383) / 16_384).map { values[$0] } : values
            let sorted = sample.sorted()
            func q(_ p: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(p * Double(sorted.count - 1)))]) }
            #expect(f["intensity_p05"] == q(0.05) && f["intensity_p50"] == q(0.5) && f["intensity_p95"] == q(0.95))
            #expect(f.count == InputFeatures.names.count && (f["intensity_entropy"] ?? 0) > 0)
        }
        let flat = InputFeatures.of(Plane(width: 8, height: 8, channels: 1, values: [Float](repeating: 0.25, count: 64)))
        #expect(flat["intensity_p05"] == 0.25 && flat["intensity_p95"] == 0.25 && flat["intensity_entropy"] == 0)
    }

    /// NaNs and infinities (which predictors refuse before this point) cannot crash the features: the histogram
    /// skips them and spans the finite values (a NaN used to trap converting its bin to an integer).
    @Test func nonFiniteValuesStayOutOfTheHistogram() {
        var values = (0..<64).map { Float($0) / 64 }
        values[3] = .nan
        values[9] = .infinity
        values[10] = -.infinity
        let f = InputFeatures.of(Plane(width: 8, height: 8, channels: 1, values: values))
        let finite = values.filter(\.isFinite)
        #expect(f.count == InputFeatures.names.count)
        // 61 evenly spread finite values fill nearly every one of the 64 bins (an infinity in the range would
        // have crowded them all into one, ~0 bits).
        #expect(f["intensity_entropy"]! > 5.5 && f["intensity_entropy"]! <= 6, "\(f)")
        #expect(finite.count == 61)
        let allNaN = InputFeatures.of(Plane(width: 4, height: 4, channels: 1, values: [Float](repeating: .nan, count: 16)))
        #expect(allNaN["intensity_entropy"] == 0)
    }
}
