import LumenTensor

/// VGG-16 (Simonyan & Zisserman 2015), with or without batch norm, in torchvision's layout and names
/// (`features.N`, `classifier.0/3/6`).
public final class VGG: Classifier {
    public let features: Sequential
    public let avgpool = AdaptiveAvgPool2d(7)
    public let classifier: Sequential
    public let batchNorm: Bool
    public var isTraining = true

    static let vgg16Config: [Int?] = [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil]

    public init(batchNorm: Bool = false, inChannels: Int = 3, numClasses: Int = 1000, dropout: Double = 0.5) throws(LumenError) {
        self.batchNorm = batchNorm
        var layers: [any Module] = []
        var channels = inChannels
        for entry in VGG.vgg16Config {
            guard let width = entry else { layers.append(MaxPool2d(kernelSize: 2, stride: 2)); continue }
            layers.append(try Conv2d(channels, width, kernelSize: 3, padding: 1))
            if batchNorm { layers.append(try BatchNorm2d(width)) }
            layers.append(ReLU())
            channels = width
        }
        features = Sequential(layers)
        classifier = Sequential(try Linear(512 * 7 * 7, 4096), ReLU(), Dropout(dropout),
                                try Linear(4096, 4096), ReLU(), Dropout(dropout),
                                try Linear(4096, numClasses))
        try initialiseTorchvisionStyle(self)
        for case let linear as Linear in classifier.layers {
            try linear.weight.fillNormal(mean: 0, std: 0.01)
            try linear.bias?.fill(0)
        }
    }

    public var numClasses: Int { (classifier[6] as? Linear)?.outFeatures ?? 0 }
    public var headPrefix: String { "classifier.6" }

    public func replaceHead(numClasses: Int) throws(LumenError) {
        let head = try Linear(4096, numClasses)
        try head.weight.fillNormal(mean: 0, std: 0.01)
        try head.bias?.fill(0)
        classifier[6] = head
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        try classifier(avgpool(features(x)).flatten(startDim: 1))
    }
}
