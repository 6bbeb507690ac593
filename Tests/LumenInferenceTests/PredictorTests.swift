import Foundation
import LumenImaging
@testable import LumenInference
import LumenNN
import LumenStore
import LumenTensor
import LumenWorkspace
import Testing

/// A spec for a small network on 32 × 32 grey images (checkpoint digest filled by the caller).
func spec(_ task: ModelTask, _ architecture: Architecture, classes: [String], sha: String = String(repeating: "a", count: 64)) -> ModelSpec {
    ModelSpec(task: task, architecture: architecture, inputChannels: 1, inputHeight: 32, inputWidth: 32, classes: classes,
              preprocessing: Pipeline([.resize(width: 32, height: 32), .channels(1), .normalize(.minMax)]),
              checkpoint: .init(path: "1/run/artifacts/checkpoints/best.safetensors", sha256: sha), libtorchVersion: Runtime.libtorchVersion, lumenVersion: "test")
}

/// A grey 40 × 40 image with a bright square (so that resizing and normalising do something).
func square() -> MedicalImage {
    var pixels = [Float](repeating: 0, count: 40 * 40)
    for y in 5..<15 { for x in 22..<34 { pixels[y * 40 + x] = 200 } }
    return MedicalImage(width: 40, height: 40, floats: pixels)
}

@Suite("ModelSpec")
struct ModelSpecTests {
    @Test func roundTripsAsJSONWithClassesAsAList() throws {
        let original = spec(.classification, .resnet(depth: .resnet18), classes: ["no finding, but \"odd\"", "pneumonia"])
        let decoded = try ModelSpec.decode(try original.json(), model: "m")
        #expect(decoded == original)
        let unet = spec(.segmentation, .unet(width: 8, depth: 2), classes: ["background", "cell"])
        #expect(try ModelSpec.decode(try unet.json(), model: "m").architecture == .unet(width: 8, depth: 2))
        #expect(try unet.json().contains("\"width\":8"))
    }

    @Test func refusesWhatItCannotBuild() throws {
        let good = try spec(.classification, .simpleCNN, classes: ["a", "b"]).json()
        func refused(_ text: String, _ fragment: String) {
            #expect { try ModelSpec.decode(text, model: "m") } throws: { "\($0)".contains(fragment) }
        }
        refused(good.replacingOccurrences(of: "\"simple-cnn\"", with: "\"resnet-9000\""), "unknown architecture 'resnet-9000'")
        refused(good.replacingOccurrences(of: "\"format\":1", with: "\"format\":7"), "newer than this Lumen reads")
        refused(good.replacingOccurrences(of: "\"classification\"", with: "\"regression\""), "task")
        refused(good.replacingOccurrences(of: "\"classes\":[\"a\",\"b\"]", with: "\"classes\":[\"a\"]"), "1 class(es)")
        refused(good.replacingOccurrences(of: "\"classes\":[\"a\",\"b\"]", with: "\"classes\":[\"a\",\"a\"]"), "repeat")
        refused(good.replacingOccurrences(of: "\"softmax\"", with: "\"mask\""), "does not fit task")
        refused(good.replacingOccurrences(of: String(repeating: "a", count: 64), with: "../../etc/passwd"), "not a SHA-256")
        refused("{}", "missing field")
        refused("not json", "invalid model spec")
        var mismatched = spec(.segmentation, .simpleCNN, classes: ["bg", "fg"])
        #expect(throws: InferenceError.self) { try mismatched.validate(model: "m") }
        mismatched = spec(.classification, .simpleCNN, classes: ["a", "b", "c"])
        mismatched.positiveClass = "a"
        #expect(throws: InferenceError.self) { try mismatched.validate(model: "m") }
    }
}

@Suite("Predictor")
struct PredictorTests {
    @Test func classificationEqualsTheNetworkOnThePreprocessedInput() throws {
        Runtime.manualSeed(2)
        let network = try SimpleCNN(inChannels: 1, numClasses: 3)
        let predictor = Predictor(spec: spec(.classification, .simpleCNN, classes: ["a", "b", "c"]), network: network)
        let image = square()
        let predicted = try predictor.predict([image, image])
        // The same preprocessing and forward pass written out by hand.
        let plane = try Pipeline([.resize(width: 32, height: 32), .channels(1), .normalize(.minMax)]).apply(Plane(image))
        network.eval()
        let expected = try withNoGrad { () throws(LumenError) -> [Double] in
            try network(Tensor(plane.channelsFirst(), shape: [1, 1, 32, 32])).softmax(dim: 1).doubles()
        }
        #expect(predicted.count == 2 && predicted[0].probabilities == expected && predicted[1] == predicted[0])
        #expect(predicted[0].labels == [expected.indices.max { expected[$0] < expected[$1] }!])
        #expect(abs(predicted[0].probabilities.reduce(0, +) - 1) < 1e-6, "softmax in float32")
        #expect(try predictor.embed([image]).first?.count == 64, "SimpleCNN's pooled last block (width 16 × 4)")
    }

    /// An image with a NaN or an infinite pixel is refused with the count, not answered (a min–max normalisation
    /// would turn the rest of it to 0 or NaN, and the network would still give a confident probability).
    @Test func nonFinitePixelsAreRefused() throws {
        let predictor = Predictor(spec: spec(.classification, .simpleCNN, classes: ["a", "b", "c"]), network: try SimpleCNN(inChannels: 1, numClasses: 3))
        for bad in [Float.nan, .infinity, -.infinity] {
            var values = [Float](repeating: 0.5, count: 40 * 40)
            values[7] = bad
            values[700] = bad
            let image = MedicalImage(width: 40, height: 40, floats: values)
            #expect(throws: InferenceError.self) { try predictor.preprocess(image) }
            do { _ = try predictor.predict([image]) } catch { #expect("\(error)".contains("2 pixel value(s) of the image are NaN or infinite"), "\(error)") }
        }
        #expect(try predictor.predict([MedicalImage(width: 40, height: 40, floats: [Float](repeating: 0.5, count: 1600))]).count == 1, "a finite image is answered")
    }

    @Test func multiLabelAndSegmentationAnswers() throws {
        Runtime.manualSeed(3)
        let multi = Predictor(spec: spec(.multiLabel, .simpleCNN, classes: ["x", "y", "z"]), network: try SimpleCNN(inChannels: 1, numClasses: 3))
        multi.threshold = 0
        let m = try multi.predict([square()])[0]
        #expect(m.probabilities.count == 3 && m.probabilities.allSatisfy { $0 > 0 && $0 < 1 } && m.labels == [0, 1, 2])
        let unet = Predictor(spec: spec(.segmentation, .unet(width: 4, depth: 2), classes: ["background", "cell"]),
                             network: try UNet(inChannels: 1, numClasses: 2, depth: 2, baseWidth: 4))
        let s = try unet.predict([square()])[0]
        let mask = try #require(s.mask)
        #expect(mask.width == 32 && mask.height == 32 && mask.classes.count == 32 * 32 && mask.classes.allSatisfy { $0 == 0 || $0 == 1 })
        #expect(s.labels == Array(Set(mask.classes)).sorted())
        #expect(try unet.embed([square()]).first?.count == 16, "U-Net bottleneck: width 4 doubled twice")
        #expect(throws: InferenceError.self) { try unet.gradCAM(square()) }
    }

    @Test func loadsCheckpointsStrictlyAndRefusesVersionsWithoutSpec() throws {
        Runtime.manualSeed(4)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-predictor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let network = try SimpleCNN(inChannels: 1, numClasses: 2)
        let file = folder.appendingPathComponent("w.safetensors")
        try network.save(to: file)
        let loaded = try Predictor(spec: spec(.classification, .simpleCNN, classes: ["a", "b"]), weights: file)
        network.eval()
        let input = try Tensor.rand([2, 1, 32, 32])
        let direct = try withNoGrad { () throws(LumenError) -> [Double] in try network(input).softmax(dim: 1).doubles() }
        // A loaded predictor answers through oneDNN with prepacked convolutions: float32 summation order aside,
        // the network's own answer.
        #expect(loaded.usesPackedInference)
        let answered = try loaded.predict(batch: input).predictions.flatMap(\.probabilities)
        #expect(answered.count == direct.count && zip(answered, direct).allSatisfy { abs($0 - $1) < 1e-5 })
        // Weights of another architecture or class count are refused, not half-loaded.
        #expect(throws: InferenceError.self) { try Predictor(spec: spec(.classification, .simpleCNN, classes: ["a", "b", "c"]), weights: file) }
        #expect(throws: InferenceError.self) { try Predictor(spec: spec(.classification, .resnet(depth: .resnet18), classes: ["a", "b"]), weights: file) }
        let version = try JSONDecoder().decode(ModelVersion.self, from: Data("""
            {"name": "m", "version": 1, "creationTime": 0, "lastUpdatedTime": 0, "description": "", "source": "s3://x", "status": "READY",
             "stage": "None", "tags": {}, "aliases": []}
            """.utf8))
        #expect { try Predictor.load(version, artifacts: ArtifactStore(root: folder)) } throws: { "\($0)".contains("lumen models migrate") }
    }

    @Test func packedInferenceMatchesDenseAndIsRefusedWhenItWouldNot() throws {
        Runtime.manualSeed(5)
        let network = try ResNet(.resnet18, inChannels: 1, numClasses: 2)
        try withNoGrad { () throws(LumenError) in
            for (_, m) in network.namedModules() {
                guard let bn = m as? BatchNorm2d, let mean = bn.runningMean, let variance = bn.runningVar else { continue }
                try mean.copy(from: Tensor.randn([mean.count]) * 0.2)
                try variance.copy(from: Tensor.rand([variance.count]) + 0.3)
            }
        }
        network.eval()
        let predictor = Predictor(spec: spec(.classification, .resnet(depth: .resnet18), classes: ["a", "b"]), network: network)
        let input = try Tensor.randn([3, 1, 32, 32])
        let dense = try predictor.predict(batch: input, embeddings: true)
        #expect(!predictor.usesPackedInference, "a predictor over a network being trained stays dense")
        #expect(predictor.optimizeForInference())
        let packed = try predictor.predict(batch: input, embeddings: true)
        let p0 = dense.predictions.flatMap(\.probabilities), p1 = packed.predictions.flatMap(\.probabilities)
        #expect(p0.count == 6 && p1.count == 6 && zip(p0, p1).allSatisfy { abs($0 - $1) < 1e-5 })
        let e0 = try #require(dense.embeddings).flatMap { $0 }, e1 = try #require(packed.embeddings).flatMap { $0 }
        #expect(e0.count == 3 * 512 && e1.count == e0.count && zip(e0, e1).allSatisfy { abs($0 - $1) < 1e-4 })
        #expect(try predictor.embed(batch: input).flatMap { $0 }.count == e0.count)
        // Grad-CAM: feature maps from the packed path, the head differentiated densely; the same map.
        let one = try input.slice(dim: 0, start: 0, end: 1)
        let denseCAM = try Predictor(spec: predictor.spec, network: network).gradCAM(input: one, target: 1)
        network.unpackForInference()
        let plainCAM = try Predictor(spec: predictor.spec, network: network).gradCAM(input: one, target: 1)
        #expect(denseCAM.values.count == 32 * 32 && plainCAM.values.count == 32 * 32
                && zip(denseCAM.values, plainCAM.values).allSatisfy { abs($0 - $1) < 1e-3 })

        // Loaded from a checkpoint, a predictor packs and frees the dense convolution weights; answers,
        // embeddings and Grad-CAM are still the network's.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-packed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("w.safetensors")
        try network.save(to: file)
        let loaded = try Predictor(spec: predictor.spec, weights: file)
        #expect(loaded.usesPackedInference)
        let convolutions = loaded.network.namedModules().compactMap { $0.1 as? Conv2d }
        #expect(convolutions.count == 20 && convolutions.allSatisfy { $0.weight.count == 0 && $0.packed != nil }, "dense copies freed")
        let again = try loaded.predict(batch: input, embeddings: true).predictions.flatMap(\.probabilities)
        #expect(again.count == p0.count && zip(p0, again).allSatisfy { abs($0 - $1) < 1e-5 })
        let loadedCAM = try loaded.gradCAM(input: one, target: 1)
        #expect(loadedCAM.values.count == plainCAM.values.count && zip(plainCAM.values, loadedCAM.values).allSatisfy { abs($0 - $1) < 1e-3 })
        // A second predictor over the same (released) network finds it packed and leaves it working.
        let second = Predictor(spec: loaded.spec, network: loaded.network)
        #expect(second.optimizeForInference() && loaded.usesPackedInference)
        let third = try loaded.predict(batch: input).predictions.flatMap(\.probabilities)
        #expect(third.count == again.count && zip(third, again).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(throws: LumenError.self) { try loaded.network.packForInference() }

        // A network whose forward pass skips the batch norm declared after its convolution: folding would change
        // the answer, the probe sees it, and the predictor stays dense.
        final class SkipsNorm: Module {
            let conv: Conv2d, bn: BatchNorm2d, head: Linear
            var isTraining = true
            init() throws(LumenError) {
                conv = try Conv2d(1, 4, kernelSize: 3, padding: 1)
                bn = try BatchNorm2d(4)
                head = try Linear(4, 2)
            }
            func callAsFunction(_ x: Tensor) throws(LumenError) -> Tensor {
                try head(conv(x).adaptiveAvgPool2d((1, 1)).flatten(startDim: 1))
            }
        }
        let odd = try SkipsNorm()
        try withNoGrad { () throws(LumenError) in try odd.bn.runningVar?.fill(9) }
        odd.eval()
        // Packing itself works and runs; it is the answer that changes (the variance of 9 divides by 3).
        let probe = try Tensor.randn([2, 1, 32, 32])
        let plain = try withNoGrad { () throws(LumenError) in try odd(probe).floats() }
        #expect(try odd.packForInference().foldedBatchNorms == 1)
        let folded = try withNoGrad { () throws(LumenError) in try odd(probe.mkldnn()).floats() }
        #expect(folded.count == plain.count && zip(plain, folded).contains { abs($0 - $1) > 1e-2 })
        odd.unpackForInference()
        let refused = Predictor(spec: spec(.classification, .simpleCNN, classes: ["a", "b"]), network: odd)
        #expect(!refused.optimizeForInference() && !refused.usesPackedInference && odd.conv.packed == nil)
    }

    @Test func gradCAMHasInputSizeAndUnitRange() throws {
        Runtime.manualSeed(1)
        let predictor = Predictor(spec: spec(.classification, .simpleCNN, classes: ["a", "b"]), network: try SimpleCNN(inChannels: 1, numClasses: 2))
        var pixels = [Float](repeating: 0, count: 32 * 32)
        for y in 4..<12 { for x in 20..<28 { pixels[y * 32 + x] = 1 } }
        let input = try Tensor(pixels, shape: [1, 1, 32, 32])
        let cam = try predictor.gradCAM(input: input, target: 1)
        #expect(cam.width == 32 && cam.height == 32 && cam.values.count == 32 * 32 && cam.target == 1)
        #expect(cam.values.allSatisfy { $0 >= 0 && $0 <= 1 })
        #expect(abs(cam.probabilities.reduce(0, +) - 1) < 1e-6)
        #expect(try predictor.gradCAM(input: input, target: 1).values == cam.values, "deterministic")
        #expect(throws: (any Error).self) { try predictor.gradCAM(input: input, target: 5) }
        // The maps are taken before SimpleCNN's global pooling, so the heat map is not flat.
        #expect(Set(cam.values).count > 10)
        #expect(cam.overlay(image: pixels).count == 32 * 32 * 3)
    }
}
