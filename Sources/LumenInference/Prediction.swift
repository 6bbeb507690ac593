/// A model's answer for one image.
public struct Prediction: Codable, Sendable, Equatable {
    /// Classification: one probability per class (softmax); multi-label: one per finding (sigmoid);
    /// segmentation: empty.
    public var probabilities: [Double]
    /// Classification: the most probable class's index; multi-label: every finding at or above the
    /// decision threshold; segmentation: the classes present in the mask.
    public var labels: [Int]
    /// Segmentation: the class of each pixel at the model's input size.
    public var mask: SegmentationMask?

    public init(probabilities: [Double], labels: [Int], mask: SegmentationMask? = nil) {
        self.probabilities = probabilities
        self.labels = labels
        self.mask = mask
    }
}

/// A label map: one class index per pixel, row-major.
public struct SegmentationMask: Codable, Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var classes: [Int]

    public init(width: Int, height: Int, classes: [Int]) {
        self.width = width
        self.height = height
        self.classes = classes
    }
}
