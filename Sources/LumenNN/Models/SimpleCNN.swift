import LumenTensor

/// A small, fast CNN for quick experiments and tests: three conv–BN–ReLU blocks, global pooling and a linear head.
public final class SimpleCNN: Classifier {
    public var features: Sequential
    public var classifier: Sequential
    public var isTraining = true

    /// - Parameters: `width` is the channel count of the first block (doubling per block).
    public init(inChannels: Int = 1, numClasses: Int = 2, width: Int = 16, dropout: Double = 0.2) throws(LumenError) {
        features = Sequential(
            try Conv2d(inChannels, width, kernelSize: 3, padding: 1, bias: false), try BatchNorm2d(width), ReLU(), MaxPool2d(kernelSize: 2),
            try Conv2d(width, width * 2, kernelSize: 3, padding: 1, bias: false), try BatchNorm2d(width * 2), ReLU(), MaxPool2d(kernelSize: 2),
            try Conv2d(width * 2, width * 4, kernelSize: 3, padding: 1, bias: false), try BatchNorm2d(width * 4), ReLU(),
            AdaptiveAvgPool2d(1))
        classifier = Sequential(Flatten(), Dropout(dropout), try Linear(width * 4, numClasses))
    }

    public var numClasses: Int { (classifier[2] as? Linear)?.outFeatures ?? 0 }
    public var headPrefix: String { "classifier.2" }

    public func replaceHead(numClasses: Int) throws(LumenError) {
        guard let old = classifier[2] as? Linear else { return }
        classifier[2] = try Linear(old.inFeatures, numClasses)
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor { try classifier(features(x)) }
}
