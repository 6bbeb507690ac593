import LumenData
import LumenNN
import LumenTensor

extension Predictor {
    /// Every batch of `loader` through the network, in order; `each` gets the batch (images, targets,
    /// paths) and its output. With `loss`, returns the mean loss over the images (the targets must be there).
    /// `progress` hears (images done, images in all) after every batch.
    @discardableResult
    public func run(_ loader: DataLoader, loss: (any Loss)? = nil, progress: ((Int, Int) -> Void)? = nil,
                    each: (Batch, Output) throws -> Void) throws -> Double? {
        var total = 0.0, n = 0, done = 0
        let batches = loader.epoch(0)
        while let batch = try batches.nextBatch() {
            defer { done += batch.paths.count; progress?(done, loader.entries.count) }
            let output = try predict(batch: batch.images)
            if let loss {
                guard let targets = spec.task == .segmentation ? batch.masks : batch.targets else {
                    throw InferenceError.input("\(batch.paths.first ?? "an image") has no \(spec.task == .segmentation ? "mask" : "label") to score")
                }
                let value = try withNoGrad { () throws -> Double in try loss(output.logits, targets).item() }
                total += value * Double(batch.images.shape[0])
                n += batch.images.shape[0]
            }
            try each(batch, output)
        }
        return loss == nil ? nil : total / Double(max(n, 1))
    }
}
