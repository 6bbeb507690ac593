import Foundation
import Testing
@testable import LumenTraining

@Suite("Segmentation metrics")
struct SegmentationMetricsTests {
    /// A w × h map with class 1 in the rectangle [x0, x1) × [y0, y1).
    static func box(_ w: Int, _ h: Int, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int) -> [Int] {
        (0..<(w * h)).map { i in (i % w >= x0 && i % w < x1 && i / w >= y0 && i / w < y1) ? 1 : 0 }
    }

    @Test func overlapByHand() {
        // Truth 4×4 = 16 pixels, prediction the same square shifted right by 1: overlap 12.
        let truth = Self.box(10, 10, 2, 2, 6, 6), predicted = Self.box(10, 10, 3, 2, 7, 6)
        #expect(abs(SegmentationMetrics.dice(predicted, truth, class: 1) - 24.0 / 32.0) < 1e-12)
        #expect(abs(SegmentationMetrics.iou(predicted, truth, class: 1) - 12.0 / 20.0) < 1e-12)
        #expect(abs(SegmentationMetrics.pixelAccuracy(predicted, truth) - 92.0 / 100.0) < 1e-12)
        #expect(SegmentationMetrics.dice(truth, truth, class: 1) == 1 && SegmentationMetrics.iou(truth, truth, class: 1) == 1)
        #expect(SegmentationMetrics.dice([0, 0], [0, 0], class: 1).isNaN, "absent from both: undefined, not perfect")
        #expect(SegmentationMetrics.dice([1, 0], [0, 0], class: 1) == 0)
    }

    @Test func hausdorff95ByHand() {
        // The same shape gives 0; a shift by 3 pixels gives 3 for most surface points.
        let truth = Self.box(20, 20, 4, 4, 10, 10)
        #expect(SegmentationMetrics.hausdorff95(truth, truth, class: 1, width: 20, height: 20) == 0)
        let shifted = Self.box(20, 20, 7, 4, 13, 10)
        let hd = SegmentationMetrics.hausdorff95(shifted, truth, class: 1, width: 20, height: 20)
        #expect(hd == 3, "\(hd)")
        // Anisotropic spacing scales the distance.
        #expect(SegmentationMetrics.hausdorff95(shifted, truth, class: 1, width: 20, height: 20, spacing: (0.5, 1)) == 1.5)
        #expect(SegmentationMetrics.hausdorff95(Self.box(20, 20, 0, 0, 0, 0), truth, class: 1, width: 20, height: 20).isNaN)
        // numpy.percentile's linear interpolation.
        #expect(abs(SegmentationMetrics.percentile([1, 2, 3, 4], 95) - 3.85) < 1e-12)
        #expect(SegmentationMetrics.percentile([5], 95) == 5)
    }

    @Test func reportMeansSkipUndefinedImagesAndPools() {
        let a = Self.box(10, 10, 2, 2, 6, 6), b = Self.box(10, 10, 3, 2, 7, 6), empty = Self.box(10, 10, 0, 0, 0, 0)
        let report = SegmentationReport(classNames: ["background", "lesion"],
                                        maps: [("a", a, a, 10, 10), ("b", b, a, 10, 10), ("none", empty, empty, 10, 10)])
        let lesion = report.classes[1]
        #expect(lesion.images == 2, "the image without the class on either side does not count")
        #expect(abs(lesion.meanDice - (1 + 0.75) / 2) < 1e-12)
        #expect(abs(lesion.pooledDice - 2.0 * 28 / 64) < 1e-12)
        #expect(abs(report.meanForegroundDice - lesion.meanDice) < 1e-12)
        #expect(abs(report.pixelAccuracy - 292.0 / 300.0) < 1e-12)
        #expect(report.images[2].hd95[1].isNaN && report.images[0].hd95[1] == 0)
    }
}
