import LumenImaging
import LumenNN
import LumenTensor

/// A Grad-CAM heat map (Selvaraju et al. 2017): the last convolutional feature maps weighted by the mean
/// gradient of the class score over each map, rectified and scaled to 0…1 at the model's input size.
public struct Heatmap: Sendable {
    /// Row-major, `height` × `width`, 0…1.
    public var values: [Float]
    public var width: Int
    public var height: Int
    /// The class explained.
    public var target: Int
    /// The class probabilities of the image.
    public var probabilities: [Double]
}

extension Predictor {
    /// The heat map of `target` (default: the predicted class) for one preprocessed input (1 × C × H × W).
    public func gradCAM(input: Tensor, target: Int? = nil) throws -> Heatmap {
        guard spec.task == .classification else {
            throw InferenceError.unsupported("Grad-CAM explains classifiers; \(name) is a \(spec.task.rawValue) model")
        }
        guard input.shape.count == 4, input.shape[0] == 1 else { throw InferenceError.input("Grad-CAM explains one image at a time (1 × C × H × W), got \(input.shape)") }
        network.eval()
        // The feature maps become a leaf of their own, so their gradient is kept.
        let maps = try withNoGrad { () throws -> Tensor in try featureMaps(prepared(input)).dense() }.detach().requiringGrad(true)
        let logits = try head(maps)
        let probabilities = try logits.softmax(dim: 1).doubles()
        let chosen = target ?? probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0
        guard probabilities.indices.contains(chosen) else { throw InferenceError.input("class \(chosen) is outside 0..<\(probabilities.count)") }
        let score = try logits.select(dim: 1, index: chosen).sum()
        try score.backward()
        guard let gradient = maps.grad else { throw InferenceError.unsupported("no gradient reached the feature maps of \(name)") }
        let weights = try gradient.mean(dims: [2, 3], keepDim: true)
        var cam = try (maps * weights).sum(dims: [1], keepDim: true).relu()
        cam = try cam.interpolate(size: (input.shape[2], input.shape[3]), mode: .bilinear)
        var values = try cam.detach().floats()
        let peak = values.max() ?? 0
        if peak > 0 { values = values.map { $0 / peak } }
        return Heatmap(values: values, width: input.shape[3], height: input.shape[2], target: chosen, probabilities: probabilities)
    }

    /// The heat map for an image, with the preprocessed plane it was computed on (for overlays).
    public func gradCAM(_ image: MedicalImage, target: Int? = nil) throws -> (heatmap: Heatmap, input: Plane) {
        let plane = try preprocess(image)
        return (try gradCAM(input: batch([plane]), target: target), plane)
    }

    /// The last convolutional feature maps, before any global pooling.
    func featureMaps(_ x: Tensor) throws -> Tensor {
        switch network {
        case let m as ResNet: return try m.features(x)
        case let m as SimpleCNN:
            // The last convolution's maps, before the global pooling that ends `features`.
            var y = x
            for layer in m.features.layers.dropLast() where !(layer is AdaptiveAvgPool2d) { y = try layer(y) }
            return y
        case let m as VGG: return try m.features(x)
        default: throw InferenceError.unsupported("\(name): Grad-CAM and embeddings support ResNet, VGG and SimpleCNN, not \(type(of: network))")
        }
    }

    /// The rest of the classifier from the feature maps to the logits.
    func head(_ maps: Tensor) throws -> Tensor {
        switch network {
        case let m as ResNet: return try m.fc(m.avgpool(maps).flatten(startDim: 1))
        case let m as SimpleCNN:
            guard let pool = m.features.layers.last else { return try m.classifier(maps) }
            return try m.classifier(pool(maps))
        case let m as VGG: return try m.classifier(m.avgpool(maps).flatten(startDim: 1))
        default: throw InferenceError.unsupported("\(name): Grad-CAM supports ResNet, VGG and SimpleCNN, not \(type(of: network))")
        }
    }

    /// Penultimate-layer features of a preprocessed batch (N × C × H × W): what the classifier's last
    /// linear layer sees (ResNet: the pooled 512/2048 features; VGG: the 4096 features before the last
    /// layer; SimpleCNN: the pooled last block), or the U-Net's bottleneck pooled over space. For the
    /// input gate and drift monitoring.
    public func embed(batch x: Tensor) throws -> [[Float]] {
        network.eval()
        let x = try prepared(x)
        let features = try withNoGrad { () throws -> Tensor in
            switch network {
            case let m as ResNet: return try m.avgpool(m.features(x)).flatten(startDim: 1)
            case let m as SimpleCNN: return try m.features(x).flatten(startDim: 1)
            case let m as VGG:
                var y = try m.avgpool(m.features(x)).flatten(startDim: 1)
                for layer in m.classifier.layers.dropLast() { y = try layer(y) }
                return y
            case let m as UNet: return try AdaptiveAvgPool2d(1)(m.bottleneck(x)).flatten(startDim: 1)
            default: throw InferenceError.unsupported("\(name): embeddings support the zoo's networks, not \(type(of: network))")
            }
        }
        let n = x.shape[0], d = features.shape[1]
        let values = try features.dense().floats()
        return (0..<n).map { Array(values[$0 * d..<($0 + 1) * d]) }
    }

    /// Penultimate-layer features of each image (preprocessed as at training).
    public func embed(_ images: [MedicalImage]) throws -> [[Float]] {
        try embed(batch: batch(images.map(preprocess)))
    }
}

extension Heatmap {
    /// `image` (grey, any range, at the heat map's size) with the heat map blended over it in a blue–red
    /// colour scale, as RGB bytes.
    public func overlay(image: [Float], alpha: Float = 0.45) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let lo = image.min() ?? 0, hi = image.max() ?? 1, span = hi > lo ? hi - lo : 1
        for i in 0..<min(width * height, image.count, values.count) {
            let g = (image[i] - lo) / span, h = values[i]
            let heat: (Float, Float, Float) = (min(1, 2 * h), h < 0.5 ? 2 * h : 2 * (1 - h), max(0, 1 - 2 * h))
            out[3 * i] = UInt8(max(0, min(255, 255 * ((1 - alpha) * g + alpha * heat.0))))
            out[3 * i + 1] = UInt8(max(0, min(255, 255 * ((1 - alpha) * g + alpha * heat.1))))
            out[3 * i + 2] = UInt8(max(0, min(255, 255 * ((1 - alpha) * g + alpha * heat.2))))
        }
        return out
    }

    /// The overlay on the first channel of the preprocessed input, as a PNG.
    public func overlayPNG(on input: Plane) throws -> [UInt8] {
        let grey = stride(from: 0, to: input.values.count, by: input.channels).map { input.values[$0] }
        return try ImageWriter.encode(".png", data: overlay(image: grey), width: width, height: height, channels: 3, type: .uint8)
    }
}
