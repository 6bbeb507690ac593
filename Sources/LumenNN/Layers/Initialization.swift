import Foundation
import LumenTensor

/// PyTorch's weight initialisers (`torch.nn.init`), applied in place.
public enum Init {
    /// `(fan_in, fan_out)` of a weight as PyTorch computes them (dim 1 × receptive field, dim 0 × receptive field).
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        guard shape.count >= 2 else { return (shape.first ?? 1, shape.first ?? 1) }
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// The default of `Conv2d`/`Linear`: `kaiming_uniform_(a=√5)`, i.e. U(±1/√fan_in).
    public static func defaultWeight(_ w: Tensor) throws(LumenError) {
        let bound = 1 / Foundation.sqrt(Double(max(1, fans(w.shape).fanIn)))
        try w.fillUniform(-bound, bound)
    }

    /// The default bias: U(±1/√fan_in of the weight).
    public static func defaultBias(_ b: Tensor, weightShape: [Int]) throws(LumenError) {
        let bound = 1 / Foundation.sqrt(Double(max(1, fans(weightShape).fanIn)))
        try b.fillUniform(-bound, bound)
    }

    /// `kaiming_normal_(mode='fan_out', nonlinearity='relu')`, torchvision's choice for ResNet and VGG convolutions.
    public static func kaimingNormalFanOut(_ w: Tensor) throws(LumenError) {
        try w.fillNormal(mean: 0, std: Foundation.sqrt(2.0) / Foundation.sqrt(Double(max(1, fans(w.shape).fanOut))))
    }

    /// `kaiming_normal_(mode='fan_in', nonlinearity='relu')`.
    public static func kaimingNormalFanIn(_ w: Tensor) throws(LumenError) {
        try w.fillNormal(mean: 0, std: Foundation.sqrt(2.0) / Foundation.sqrt(Double(max(1, fans(w.shape).fanIn))))
    }
}

/// A fresh trainable parameter of the given shape (float32, CPU, requires grad).
func parameter(_ shape: [Int]) throws(LumenError) -> Tensor {
    try Tensor.zeros(shape).requiringGrad()
}
