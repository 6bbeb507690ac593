import Foundation
import LumenImaging
import LumenNN
import LumenTensor

/// A registered model ready to answer: its `ModelSpec` turned into a network in eval mode, with the
/// version's own preprocessing. The one prediction loop of Lumen: training's validation, `lumen evaluate`,
/// `lumen explain`, serving and batch inference all go through it.
///
/// The network is not safe to call from several threads at once. Synchronous calls are for one caller at
/// a time (the trainer on its compute thread, a test); `perform` runs work on the predictor's compute
/// thread, which serialises it and keeps libtorch's OpenMP team on one thread.
///
/// `@unchecked Sendable`: the only mutable state is the network's, and it is touched by the synchronous
/// methods only, which callers either confine to one thread or reach through `perform` (one serial thread).
public final class Predictor: @unchecked Sendable {
    public let spec: ModelSpec
    /// The model's name in messages (`NAME version N`).
    public let name: String
    let network: any Module
    let executor: ComputeThread
    /// Multi-label decisions: a finding is present at or above this probability.
    public var threshold = 0.5
    /// Whether forward passes run in oneDNN's layout with prepacked, batch-norm-folded convolutions
    /// (`optimizeForInference()`); Grad-CAM differentiates only the dense head after them.
    public private(set) var usesPackedInference = false

    /// A predictor over a network already built (the trainer's, for validation).
    public init(spec: ModelSpec, network: any Module, name: String = "model", executor: ComputeThread = .shared) {
        self.spec = spec
        self.network = network
        self.name = name
        self.executor = executor
    }

    /// Builds the spec's network and loads `weights` (a safetensors checkpoint, every key required);
    /// the file's SHA-256 must be the spec's.
    public convenience init(spec: ModelSpec, weights: URL, name: String = "model", executor: ComputeThread = .shared) throws {
        try spec.validate(model: name)
        let network: any Module
        do {
            network = try spec.architecture.makeNetwork(inChannels: spec.inputChannels, outputs: spec.classes.count)
            _ = try network.load(from: weights, strict: true)
        } catch {
            throw InferenceError.checkpoint(model: name, reason: "\(weights.lastPathComponent) does not fit \(spec.architecture.name.rawValue) with \(spec.classes.count) outputs: \(error)")
        }
        network.eval()
        self.init(spec: spec, network: network, name: name, executor: executor)
        // Packed, the dense convolution weights are a second copy nothing reads (Grad-CAM differentiates the head
        // only): freed, with the checkpoint's buffers, so that a served model costs its weights once.
        if optimizeForInference() { _ = try? network.releaseDenseWeightsOfPackedConvolutions() }
        Runtime.releaseFreeMemory()
    }

    /// Packs the network for oneDNN inference (`Module.packForInference()`: weights reordered once, batch norms
    /// folded) when a probe batch at the spec's input size gives the dense network's outputs through it (each
    /// within 1e-3 of itself plus 1e-5 of the largest, float32 summation order aside); otherwise, or with `LUMEN_PACKED_INFERENCE=0`,
    /// the dense network answers. Returns whether the packed path is on. Call before sharing the predictor.
    @discardableResult
    public func optimizeForInference() -> Bool {
        if usesPackedInference { return true }
        if ProcessInfo.processInfo.environment["LUMEN_PACKED_INFERENCE"] == "0" { return false }
        if network.hasReleasedDenseWeights {
            // Another predictor packed this network and freed its dense weights: packed is all there is.
            usesPackedInference = network.namedModules().contains { ($0.1 as? Conv2d)?.packed != nil }
            return usesPackedInference
        }
        network.eval()
        do {
            let shape = [2, spec.inputChannels, spec.inputHeight, spec.inputWidth]
            // A fixed pattern rather than random numbers: loading a model must not move the seeded generator.
            let probe = try Tensor((0..<shape.reduce(1, *)).map { Float(sin(Double($0) * 0.37)) }, shape: shape)
            network.unpackForInference()
            let dense = try withNoGrad { () throws -> [Float] in try network(probe).floats() }
            let packing = try network.packForInference()
            guard packing.convolutions > 0 else { network.unpackForInference(); return false }
            let packed = try withNoGrad { () throws -> [Float] in try network(probe.mkldnn()).dense().floats() }
            // Per output, within 1e-3 of its own size plus 1e-5 of the largest: float32 summation order moves
            // them by ~1e-6 relative; a wrongly folded batch norm by far more.
            let scale = dense.map(abs).max() ?? 0
            guard dense.count == packed.count,
                  zip(dense, packed).allSatisfy({ abs($0 - $1) <= 1e-3 * abs($0) + 1e-5 * scale + 1e-6 }) else {
                network.unpackForInference()
                return false
            }
            usesPackedInference = true
        } catch {
            network.unpackForInference()
            usesPackedInference = false
        }
        return usesPackedInference
    }

    /// The network's input as the forward pass wants it: mkldnn when the packed path is on.
    func prepared(_ images: Tensor) throws -> Tensor {
        usesPackedInference ? try images.mkldnn() : images
    }

    /// Runs `body` on the predictor's compute thread (one at a time), for callers on other threads.
    public func perform<T: Sendable>(_ body: @Sendable (Predictor) throws -> T) async throws -> T {
        try await withTaskExecutorPreference(executor) { try body(self) }
    }

    // MARK: Images

    /// The model's input for one image: its middle slice through the version's preprocessing.
    /// Pixels that are NaN or infinite are refused, before and after the preprocessing: a network would answer them
    /// with a confident but meaningless probability (an infinity squashes the rest of a min–max normalised image to 0).
    public func preprocess(_ image: MedicalImage) throws -> Plane {
        let source = try Plane(image, slice: image.depth / 2)
        if source.values.contains(where: { !$0.isFinite }) {
            let nonFinite = source.values.reduce(0) { $1.isFinite ? $0 : $0 + 1 }
            throw InferenceError.input("\(nonFinite) pixel value(s) of the \(image.depth > 1 ? "middle slice" : "image") are NaN or infinite")
        }
        let plane = try spec.preprocessing.apply(source)
        guard plane.values.allSatisfy(\.isFinite) else {
            throw InferenceError.input("the preprocessing turns the image into NaN or infinite values")
        }
        guard plane.channels == spec.inputChannels else {
            throw InferenceError.input("the preprocessing gives \(plane.channels) channel(s); \(name) takes \(spec.inputChannels)")
        }
        return plane
    }

    /// A batch tensor (N × C × H × W) of preprocessed planes, which must share one size.
    public func batch(_ planes: [Plane]) throws -> Tensor {
        guard let first = planes.first else { throw InferenceError.input("no images to predict") }
        guard planes.allSatisfy({ $0.width == first.width && $0.height == first.height && $0.channels == first.channels }) else {
            throw InferenceError.input("images of one batch must share a size after preprocessing")
        }
        var values: [Float] = []
        values.reserveCapacity(planes.count * first.values.count)
        for p in planes { values += p.channelsFirst() }
        return try Tensor(values, shape: [planes.count, first.channels, first.height, first.width])
    }

    /// Predicts each image (preprocessed as at training, one batch).
    public func predict(_ images: [MedicalImage]) throws -> [Prediction] {
        try predict(batch: batch(images.map(preprocess))).predictions
    }

    // MARK: Batches

    /// What one batch gives: the raw outputs and the answer per image.
    public struct Output {
        /// Network outputs: N × K logits, or N × K × H × W class maps.
        public let logits: Tensor
        public let predictions: [Prediction]
        /// Penultimate-layer features per image, when asked for (`predict(batch:embeddings:)`).
        public var embeddings: [[Float]]? = nil
    }

    /// The network on a batch, and with `embeddings` its penultimate-layer features from the same
    /// forward pass (ResNet, VGG, SimpleCNN: the classifier's input; the U-Net needs a second pass).
    public func predict(batch images: Tensor, embeddings: Bool) throws -> Output {
        guard embeddings else { return try predict(batch: images) }
        network.eval()
        let input = try prepared(images)
        let split: (features: Tensor, logits: Tensor)? = try withNoGrad { () throws -> (features: Tensor, logits: Tensor)? in
            switch network {
            case let m as ResNet:
                let f = try m.avgpool(m.features(input)).flatten(startDim: 1).dense()
                return (f, try m.fc(f))
            case let m as SimpleCNN:
                let maps = try m.features(input).dense()
                return (try maps.flatten(startDim: 1), try m.classifier(maps))
            case let m as VGG:
                var y = try m.avgpool(m.features(input)).flatten(startDim: 1)
                for layer in m.classifier.layers.dropLast() { y = try layer(y) }
                guard let last = m.classifier.layers.last else { return nil }
                return (try y.dense(), try last(y).dense())
            default: return nil
            }
        }
        guard let split else {
            var out = try predict(batch: images)
            out.embeddings = try embed(batch: images)
            return out
        }
        var out = try answer(split.logits, count: images.shape[0])
        let d = split.features.shape[1], values = try split.features.floats()
        out.embeddings = (0..<images.shape[0]).map { Array(values[$0 * d..<($0 + 1) * d]) }
        return out
    }

    /// The network on a preprocessed batch (N × C × H × W) without autograd, in eval mode.
    public func predict(batch images: Tensor) throws -> Output {
        network.eval()
        return try withNoGrad { () throws -> Output in try answer(try network(prepared(images)).dense(), count: images.shape[0]) }
    }

    /// Probabilities and labels (or masks) of a batch's logits.
    func answer(_ logits: Tensor, count n: Int) throws -> Output {
        let k = spec.classes.count
        return try withNoGrad { () throws -> Output in
            switch spec.output {
            case .softmax:
                let p = try logits.softmax(dim: 1).doubles()
                return Output(logits: logits, predictions: (0..<n).map { i in
                    let row = Array(p[i * k..<(i + 1) * k])
                    return Prediction(probabilities: row, labels: [row.indices.max { row[$0] < row[$1] } ?? 0])
                })
            case .sigmoid:
                let p = try logits.sigmoid().doubles()
                return Output(logits: logits, predictions: (0..<n).map { i in
                    let row = Array(p[i * k..<(i + 1) * k])
                    return Prediction(probabilities: row, labels: row.indices.filter { row[$0] >= threshold })
                })
            case .mask:
                let classes = try logits.argmax(dim: 1).int64s()
                let h = logits.shape[2], w = logits.shape[3]
                return Output(logits: logits, predictions: (0..<n).map { i in
                    let map = classes[i * h * w..<(i + 1) * h * w].map { Int($0) }
                    return Prediction(probabilities: [], labels: Array(Set(map)).sorted(), mask: SegmentationMask(width: w, height: h, classes: map))
                })
            }
        }
    }
}
