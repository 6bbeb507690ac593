import Foundation
import LumenImaging
import LumenNN
import LumenTensor

/// Grad-CAM (Selvaraju et al. 2017) for the zoo's CNNs: the last convolutional feature maps weighted by
/// the mean gradient of the class score over each map, rectified and scaled to 0…1 at input size.
public enum GradCAM {
    /// The heat map (height × width, row-major, 0…1) for `input` (1 × C × H × W), the class explained
    /// (the predicted one unless `target` is given) and the class probabilities.
    public static func heatmap(_ model: any Module, input: Tensor, target: Int? = nil) throws -> (map: [Float], width: Int, height: Int, target: Int, probabilities: [Double]) {
        guard input.shape.count == 4, input.shape[0] == 1 else { throw TrainingError.training("Grad-CAM explains one image at a time (1 × C × H × W), got \(input.shape)") }
        model.eval()
        // The feature maps become a leaf of their own, so their gradient is kept.
        let maps = try withNoGrad { () throws(LumenError) -> Tensor in try features(model, input) }.detach().requiringGrad(true)
        let logits = try head(model, maps)
        let probabilities = try logits.softmax(dim: 1).doubles()
        let chosen = target ?? probabilities.indices.max { probabilities[$0] < probabilities[$1] } ?? 0
        guard chosen >= 0, chosen < probabilities.count else { throw TrainingError.training("class \(chosen) is outside 0..<\(probabilities.count)") }
        let score = try logits.select(dim: 1, index: chosen).sum()
        try score.backward()
        guard let gradient = maps.grad else { throw TrainingError.training("no gradient reached the feature maps") }
        let weights = try gradient.mean(dims: [2, 3], keepDim: true)
        var cam = try (maps * weights).sum(dims: [1], keepDim: true).relu()
        cam = try cam.interpolate(size: (input.shape[2], input.shape[3]), mode: .bilinear)
        var values = try cam.detach().floats()
        let peak = values.max() ?? 0
        if peak > 0 { values = values.map { $0 / peak } }
        return (values, input.shape[3], input.shape[2], chosen, probabilities)
    }

    static func features(_ model: any Module, _ x: Tensor) throws(LumenError) -> Tensor {
        switch model {
        case let m as ResNet: return try m.features(x)
        case let m as SimpleCNN:
            // The last convolution's maps, before the global pooling that ends `features`.
            var y = x
            for layer in m.features.layers.dropLast() where !(layer is AdaptiveAvgPool2d) { y = try layer(y) }
            return y
        case let m as VGG: return try m.features(x)
        default: throw .invalidArgument(field: "model", reason: "Grad-CAM supports ResNet, VGG and SimpleCNN, not \(type(of: model))")
        }
    }

    static func head(_ model: any Module, _ maps: Tensor) throws(LumenError) -> Tensor {
        switch model {
        case let m as ResNet: return try m.fc(m.avgpool(maps).flatten(startDim: 1))
        case let m as SimpleCNN:
            guard let pool = m.features.layers.last else { return try m.classifier(maps) }
            return try m.classifier(pool(maps))
        case let m as VGG: return try m.classifier(m.avgpool(maps).flatten(startDim: 1))
        default: throw .invalidArgument(field: "model", reason: "Grad-CAM supports ResNet, VGG and SimpleCNN, not \(type(of: model))")
        }
    }

    /// The image (grey, 0…1) with the heat map blended over it in a blue–red colour scale, as RGB bytes.
    public static func overlay(image: [Float], map: [Float], width: Int, height: Int, alpha: Float = 0.45) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let lo = image.min() ?? 0, hi = image.max() ?? 1, span = hi > lo ? hi - lo : 1
        for i in 0..<(width * height) {
            let g = (image[i] - lo) / span, h = map[i]
            let heat: (Float, Float, Float) = (min(1, 2 * h), h < 0.5 ? 2 * h : 2 * (1 - h), max(0, 1 - 2 * h))
            out[3 * i] = UInt8(max(0, min(255, 255 * ((1 - alpha) * g + alpha * heat.0))))
            out[3 * i + 1] = UInt8(max(0, min(255, 255 * ((1 - alpha) * g + alpha * heat.1))))
            out[3 * i + 2] = UInt8(max(0, min(255, 255 * ((1 - alpha) * g + alpha * heat.2))))
        }
        return out
    }
}
