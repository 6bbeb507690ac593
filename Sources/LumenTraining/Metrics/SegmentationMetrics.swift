import Foundation

/// Overlap and distance metrics of one predicted label map against the truth, per class: Dice, IoU,
/// pixel accuracy and the 95th-percentile Hausdorff distance (MedPy's `hd95`: surfaces are the object
/// minus its erosion by the 4-connected cross, distances are Euclidean in pixel units times spacing,
/// and the value is the 95th percentile, linearly interpolated, of both directed surface distances).
public enum SegmentationMetrics {
    /// Dice of class `c`: 2|P∩T| / (|P| + |T|); NaN when the class is absent from both.
    public static func dice(_ predicted: [Int], _ truth: [Int], class c: Int) -> Double {
        let (inter, p, t) = counts(predicted, truth, c)
        return p + t == 0 ? .nan : 2 * Double(inter) / Double(p + t)
    }

    /// Intersection over union of class `c`; NaN when the class is absent from both.
    public static func iou(_ predicted: [Int], _ truth: [Int], class c: Int) -> Double {
        let (inter, p, t) = counts(predicted, truth, c)
        let union = p + t - inter
        return union == 0 ? .nan : Double(inter) / Double(union)
    }

    public static func pixelAccuracy(_ predicted: [Int], _ truth: [Int]) -> Double {
        guard !truth.isEmpty else { return .nan }
        return Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(truth.count)
    }

    static func counts(_ predicted: [Int], _ truth: [Int], _ c: Int) -> (Int, Int, Int) {
        var inter = 0, p = 0, t = 0
        for (a, b) in zip(predicted, truth) {
            let pa = a == c, tb = b == c
            if pa { p += 1 }
            if tb { t += 1 }
            if pa && tb { inter += 1 }
        }
        return (inter, p, t)
    }

    /// HD95 of class `c` on a `width` × `height` map; NaN when either mask of the class is empty.
    public static func hausdorff95(_ predicted: [Int], _ truth: [Int], class c: Int, width: Int, height: Int,
                                   spacing: (x: Double, y: Double) = (1, 1)) -> Double {
        let a = surface(predicted.map { $0 == c }, width: width, height: height)
        let b = surface(truth.map { $0 == c }, width: width, height: height)
        guard !a.isEmpty, !b.isEmpty else { return .nan }
        let distances = directed(a, b, spacing) + directed(b, a, spacing)
        return percentile(distances, 95)
    }

    /// Pixels of the mask whose 4-neighbourhood leaves the mask (outside the image counts as background,
    /// as scipy's binary_erosion with border_value 0 does).
    static func surface(_ mask: [Bool], width: Int, height: Int) -> [(Int, Int)] {
        var points: [(Int, Int)] = []
        for y in 0..<height {
            for x in 0..<width where mask[y * width + x] {
                let inside = x > 0 && x < width - 1 && y > 0 && y < height - 1
                    && mask[y * width + x - 1] && mask[y * width + x + 1] && mask[(y - 1) * width + x] && mask[(y + 1) * width + x]
                if !inside { points.append((x, y)) }
            }
        }
        return points
    }

    /// For each point of `from`, the distance to the nearest point of `to`.
    static func directed(_ from: [(Int, Int)], _ to: [(Int, Int)], _ spacing: (x: Double, y: Double)) -> [Double] {
        from.map { p in
            var best = Double.infinity
            for q in to {
                let dx = Double(p.0 - q.0) * spacing.x, dy = Double(p.1 - q.1) * spacing.y
                let d = dx * dx + dy * dy
                if d < best { best = d }
            }
            return best.squareRoot()
        }
    }

    /// numpy.percentile with linear interpolation.
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = q / 100 * Double(sorted.count - 1)
        let lo = Int(rank.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
    }
}

/// One image's segmentation figures (per class, index = class).
public struct SegmentationImageResult: Codable, Sendable {
    public var path: String
    public var dice: [Double]
    public var iou: [Double]
    public var hd95: [Double]
    public var pixelAccuracy: Double
}

/// Per-class summary over a split: the mean over images where the value is defined, and the pooled
/// (all pixels together) Dice and IoU.
public struct SegmentationClassReport: Codable, Sendable {
    public var name: String
    public var meanDice: Double
    public var meanIoU: Double
    public var meanHD95: Double
    public var medianHD95: Double
    public var pooledDice: Double
    public var pooledIoU: Double
    /// Images where the class appears in the truth or the prediction (where Dice is defined).
    public var images: Int
}

/// A segmentation model on a dataset split: per-class and per-image Dice, IoU, HD95, pixel accuracy.
public struct SegmentationReport: Codable, Sendable {
    public var classes: [SegmentationClassReport]
    public var images: [SegmentationImageResult]
    public var pixelAccuracy: Double
    /// Mean Dice over the foreground classes (all but class 0): the headline figure.
    public var meanForegroundDice: Double
    public var meanForegroundIoU: Double

    /// Builds the report from predicted and true label maps of `width` × `height` each.
    public init(classNames: [String], maps: [(path: String, predicted: [Int], truth: [Int], width: Int, height: Int)], distances: Bool = true) {
        let k = classNames.count
        images = maps.map { m in
            SegmentationImageResult(path: m.path, dice: (0..<k).map { SegmentationMetrics.dice(m.predicted, m.truth, class: $0) },
                                    iou: (0..<k).map { SegmentationMetrics.iou(m.predicted, m.truth, class: $0) },
                                    hd95: (0..<k).map { distances ? SegmentationMetrics.hausdorff95(m.predicted, m.truth, class: $0, width: m.width, height: m.height) : .nan },
                                    pixelAccuracy: SegmentationMetrics.pixelAccuracy(m.predicted, m.truth))
        }
        func mean(_ v: [Double]) -> Double { let d = v.filter { !$0.isNaN }; return d.isEmpty ? .nan : d.reduce(0, +) / Double(d.count) }
        var pooled = [(inter: Int, p: Int, t: Int)](repeating: (0, 0, 0), count: k)
        var correct = 0, total = 0
        for m in maps {
            for c in 0..<k {
                let (i, p, t) = SegmentationMetrics.counts(m.predicted, m.truth, c)
                pooled[c].inter += i; pooled[c].p += p; pooled[c].t += t
            }
            correct += zip(m.predicted, m.truth).filter { $0 == $1 }.count
            total += m.truth.count
        }
        let images = self.images
        classes = (0..<k).map { c in
            let hd = images.map { $0.hd95[c] }.filter { !$0.isNaN }
            let q = pooled[c]
            return SegmentationClassReport(name: classNames[c], meanDice: mean(images.map { $0.dice[c] }), meanIoU: mean(images.map { $0.iou[c] }),
                                           meanHD95: mean(hd), medianHD95: SegmentationMetrics.percentile(hd, 50),
                                           pooledDice: q.p + q.t == 0 ? .nan : 2 * Double(q.inter) / Double(q.p + q.t),
                                           pooledIoU: q.p + q.t - q.inter == 0 ? .nan : Double(q.inter) / Double(q.p + q.t - q.inter),
                                           images: images.filter { !$0.dice[c].isNaN }.count)
        }
        pixelAccuracy = total == 0 ? .nan : Double(correct) / Double(total)
        let foreground = k > 1 ? Array(classes.dropFirst()) : classes
        meanForegroundDice = mean(foreground.map(\.meanDice))
        meanForegroundIoU = mean(foreground.map(\.meanIoU))
    }
}
