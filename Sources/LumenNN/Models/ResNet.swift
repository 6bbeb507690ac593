import LumenTensor

/// ResNet's two-convolution block (ResNet-18/34), named as torchvision's `BasicBlock`.
public final class BasicBlock: Module {
    public static let expansion = 1
    public let conv1: Conv2d, bn1: BatchNorm2d, relu = ReLU(inPlace: true), conv2: Conv2d, bn2: BatchNorm2d
    public let downsample: Sequential?
    public var isTraining = true

    init(_ inPlanes: Int, _ planes: Int, stride: Int, downsample: Sequential?) throws(LumenError) {
        conv1 = try Conv2d(inPlanes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false)
        bn1 = try BatchNorm2d(planes)
        conv2 = try Conv2d(planes, planes, kernelSize: 3, padding: 1, bias: false)
        bn2 = try BatchNorm2d(planes)
        self.downsample = downsample
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        let out = try bn2(conv2(relu(bn1(conv1(x)))))
        return try out.addRecordedInPlace(downsample.map { (d) throws(LumenError) in try d(x) } ?? x).reluInPlace()
    }
}

/// ResNet's 1×1–3×3–1×1 block (ResNet-50 and deeper), named as torchvision's `Bottleneck` (stride on the 3×3, v1.5).
public final class Bottleneck: Module {
    public static let expansion = 4
    public let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d, conv3: Conv2d, bn3: BatchNorm2d, relu = ReLU(inPlace: true)
    public let downsample: Sequential?
    public var isTraining = true

    init(_ inPlanes: Int, _ planes: Int, stride: Int, downsample: Sequential?) throws(LumenError) {
        conv1 = try Conv2d(inPlanes, planes, kernelSize: 1, bias: false)
        bn1 = try BatchNorm2d(planes)
        conv2 = try Conv2d(planes, planes, kernelSize: 3, stride: stride, padding: 1, bias: false)
        bn2 = try BatchNorm2d(planes)
        conv3 = try Conv2d(planes, planes * Bottleneck.expansion, kernelSize: 1, bias: false)
        bn3 = try BatchNorm2d(planes * Bottleneck.expansion)
        self.downsample = downsample
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        var out = try relu(bn1(conv1(x)))
        out = try relu(bn2(conv2(out)))
        out = try bn3(conv3(out))
        return try out.addRecordedInPlace(downsample.map { (d) throws(LumenError) in try d(x) } ?? x).reluInPlace()
    }
}

/// ResNet (He et al. 2016) with torchvision's layout and parameter names, for any input channels and classes.
public final class ResNet: Classifier {
    public enum Depth: Int, Sendable, CaseIterable, Codable {
        case resnet18 = 18, resnet34 = 34, resnet50 = 50
        var blocks: [Int] {
            switch self {
            case .resnet18: return [2, 2, 2, 2]
            case .resnet34, .resnet50: return [3, 4, 6, 3]
            }
        }
        var bottleneck: Bool { self == .resnet50 }
    }

    public let conv1: Conv2d, bn1: BatchNorm2d, relu = ReLU(inPlace: true), maxpool = MaxPool2d(kernelSize: 3, stride: 2, padding: 1)
    public let layer1: [any Module], layer2: [any Module], layer3: [any Module], layer4: [any Module]
    public let avgpool = AdaptiveAvgPool2d(1)
    public var fc: Linear
    public let depth: Depth
    public var isTraining = true

    public init(_ depth: Depth, inChannels: Int = 3, numClasses: Int = 1000) throws(LumenError) {
        self.depth = depth
        conv1 = try Conv2d(inChannels, 64, kernelSize: 7, stride: 2, padding: 3, bias: false)
        bn1 = try BatchNorm2d(64)
        let expansion = depth.bottleneck ? Bottleneck.expansion : BasicBlock.expansion
        var inPlanes = 64
        func makeLayer(_ planes: Int, _ count: Int, stride: Int) throws(LumenError) -> [any Module] {
            var downsample: Sequential?
            if stride != 1 || inPlanes != planes * expansion {
                downsample = Sequential(try Conv2d(inPlanes, planes * expansion, kernelSize: 1, stride: stride, bias: false),
                                        try BatchNorm2d(planes * expansion))
            }
            var blocks: [any Module] = []
            for i in 0..<count {
                let s = i == 0 ? stride : 1
                let d = i == 0 ? downsample : nil
                blocks.append(depth.bottleneck ? try Bottleneck(inPlanes, planes, stride: s, downsample: d)
                                               : try BasicBlock(inPlanes, planes, stride: s, downsample: d))
                inPlanes = planes * expansion
            }
            return blocks
        }
        layer1 = try makeLayer(64, depth.blocks[0], stride: 1)
        layer2 = try makeLayer(128, depth.blocks[1], stride: 2)
        layer3 = try makeLayer(256, depth.blocks[2], stride: 2)
        layer4 = try makeLayer(512, depth.blocks[3], stride: 2)
        fc = try Linear(512 * expansion, numClasses)
        try initialiseTorchvisionStyle(self)
    }

    public var numClasses: Int { fc.outFeatures }
    public var headPrefix: String { "fc" }

    public func replaceHead(numClasses: Int) throws(LumenError) {
        fc = try Linear(fc.inFeatures, numClasses)
    }

    /// Feature maps before global pooling (for Grad-CAM and embeddings).
    public func features(_ x: Tensor) throws(LumenError) -> Tensor {
        var y = try maxpool(relu(bn1(conv1(x))))
        for block in layer1 + layer2 + layer3 + layer4 { y = try block(y) }
        return y
    }

    public func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
        try fc(avgpool(features(x)).flatten(startDim: 1))
    }
}
