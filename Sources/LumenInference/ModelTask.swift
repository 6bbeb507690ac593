import LumenNN
import LumenTensor

/// What a model learns: one class per image, any number of findings per image, or a class per pixel.
public enum ModelTask: String, Codable, Sendable, CaseIterable {
    case classification
    case multiLabel = "multi-label"
    case segmentation

    /// How the network's outputs turn into an answer for this task.
    public var output: OutputKind {
        switch self {
        case .classification: .softmax
        case .multiLabel: .sigmoid
        case .segmentation: .mask
        }
    }
}

/// How a network's raw outputs become probabilities.
public enum OutputKind: String, Codable, Sendable, CaseIterable {
    /// One probability distribution over the classes per image.
    case softmax
    /// One independent probability per finding.
    case sigmoid
    /// A class per pixel (argmax over the class maps).
    case mask
}

/// The networks of the model zoo, by the names configs and the registry use.
public enum ArchitectureName: String, Codable, Sendable, CaseIterable {
    case simpleCNN = "simple-cnn"
    case resnet18, resnet34, resnet50
    case vgg16
    case vgg16BN = "vgg16-bn"
    case unet

    /// Whether the network segments (a class per pixel) rather than classifies.
    public var segments: Bool {
        switch self {
        case .unet: true
        case .simpleCNN, .resnet18, .resnet34, .resnet50, .vgg16, .vgg16BN: false
        }
    }
}

/// A network of the zoo with the parameters that shape it.
public enum Architecture: Codable, Sendable, Equatable {
    case simpleCNN
    case resnet(depth: ResNet.Depth)
    case vgg16(batchNorm: Bool)
    /// `width`: channels of the first level (doubled per level); `depth`: down-sampling levels.
    case unet(width: Int, depth: Int)

    /// The architecture called `name`; `unetWidth` and `unetDepth` shape a U-Net and are ignored otherwise.
    public init(_ name: ArchitectureName, unetWidth: Int = 16, unetDepth: Int = 3) {
        switch name {
        case .simpleCNN: self = .simpleCNN
        case .resnet18: self = .resnet(depth: .resnet18)
        case .resnet34: self = .resnet(depth: .resnet34)
        case .resnet50: self = .resnet(depth: .resnet50)
        case .vgg16: self = .vgg16(batchNorm: false)
        case .vgg16BN: self = .vgg16(batchNorm: true)
        case .unet: self = .unet(width: unetWidth, depth: unetDepth)
        }
    }

    public var name: ArchitectureName {
        switch self {
        case .simpleCNN: .simpleCNN
        case .resnet(.resnet18): .resnet18
        case .resnet(.resnet34): .resnet34
        case .resnet(.resnet50): .resnet50
        case .vgg16(let bn): bn ? .vgg16BN : .vgg16
        case .unet: .unet
        }
    }

    /// A freshly initialised network with `inChannels` input channels and `outputs` classes (or findings).
    public func makeNetwork(inChannels: Int, outputs: Int) throws(LumenError) -> any Module {
        switch self {
        case .simpleCNN: try SimpleCNN(inChannels: inChannels, numClasses: outputs)
        case .resnet(let depth): try ResNet(depth, inChannels: inChannels, numClasses: outputs)
        case .vgg16(let batchNorm): try VGG(batchNorm: batchNorm, inChannels: inChannels, numClasses: outputs)
        case let .unet(width, depth): try UNet(inChannels: inChannels, numClasses: outputs, depth: depth, baseWidth: width)
        }
    }

    enum CodingKeys: String, CodingKey { case name, width, depth }

    /// `{"name": "resnet18"}`, or `{"name": "unet", "width": 16, "depth": 3}`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.decode(String.self, forKey: .name)
        guard let name = ArchitectureName(rawValue: text) else {
            throw DecodingError.dataCorruptedError(forKey: .name, in: c, debugDescription:
                "unknown architecture '\(text)' (known: \(ArchitectureName.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if name == .unet {
            self = .unet(width: try c.decode(Int.self, forKey: .width), depth: try c.decode(Int.self, forKey: .depth))
        } else {
            self.init(name)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name.rawValue, forKey: .name)
        if case let .unet(width, depth) = self {
            try c.encode(width, forKey: .width)
            try c.encode(depth, forKey: .depth)
        }
    }
}
