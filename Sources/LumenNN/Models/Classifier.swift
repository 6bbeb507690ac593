import LumenTensor

/// A classification network whose last layer can be swapped for transfer learning.
public protocol Classifier: Module {
    /// Number of output classes of the current head.
    var numClasses: Int { get }
    /// Replaces the final layer by a freshly initialised one with `numClasses` outputs (fine-tuning a pretrained backbone).
    func replaceHead(numClasses: Int) throws(LumenError)
    /// Path prefix of the head's parameters (`fc`, `classifier.6`): handy for freezing "everything but the head".
    var headPrefix: String { get }
}

extension Classifier {
    /// Freezes every parameter except the head's.
    public func freezeBackbone() throws(LumenError) {
        try freeze()
        try unfreeze(prefix: headPrefix)
    }
}

/// Initialises torchvision-style: convolutions kaiming-normal (fan-out, ReLU), batch norms 1/0.
func initialiseTorchvisionStyle(_ model: any Module) throws(LumenError) {
    for (_, m) in model.namedModules() {
        if let conv = m as? Conv2d {
            try Init.kaimingNormalFanOut(conv.weight)
            try conv.bias?.fill(0)
        } else if let bn = m as? BatchNorm2d {
            try bn.weight?.fill(1)
            try bn.bias?.fill(0)
        }
    }
}
