import Foundation
import Testing
import LumenTensor
@testable import LumenNN

/// `packForInference()`: oneDNN-packed convolutions with folded batch norms give the dense network's outputs
/// for mkldnn inputs and leave training and autograd alone.
@Suite(.serialized) struct InferencePackingTests {
    /// Messages collected from several threads.
    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var messages: [String] = []
        func add(_ message: String) { lock.withLock { messages.append(message) } }
        var all: [String] { lock.withLock { messages } }
    }

    /// Batch norms with statistics and affine parameters far from their initial 1s and 0s, so folding matters.
    static func randomiseBatchNorms(_ model: any Module) throws {
        try withNoGrad { () throws(LumenError) in
            for (_, m) in model.namedModules() {
                guard let bn = m as? BatchNorm2d, let mean = bn.runningMean, let variance = bn.runningVar else { continue }
                let c = mean.count
                try mean.copy(from: Tensor.randn([c]) * 0.3)
                try variance.copy(from: Tensor.rand([c]) + 0.2)
                try bn.weight?.copy(from: Tensor.rand([c]) + 0.5)
                try bn.bias?.copy(from: Tensor.randn([c]) * 0.2)
            }
        }
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test func resNetPackedEqualsDenseAndTrainingIsUntouched() throws {
        Runtime.manualSeed(11)
        let model = try ResNet(.resnet18, inChannels: 1, numClasses: 3)
        try Self.randomiseBatchNorms(model)
        model.eval()
        let x = try Tensor.randn([2, 1, 64, 64])
        let dense = try withNoGrad { () throws(LumenError) in try model(x).floats() }
        let packing = try model.packForInference()
        // ResNet-18: the stem, 16 block convolutions and 3 downsampling ones, each followed by its batch norm.
        #expect(packing == InferencePacking(convolutions: 20, foldedBatchNorms: 20))
        let packedOut = try withNoGrad { () throws(LumenError) in try model(x.mkldnn()) }
        #expect(packedOut.isMkldnn, "the whole network stays in oneDNN's layout")
        let packed = try packedOut.dense().floats()
        #expect(packed.count == dense.count)
        #expect(Self.maxDifference(dense, packed) < 1e-4, "\(Self.maxDifference(dense, packed))")
        #expect(Set(dense).count > 1, "not a constant output")
        // In evaluation mode a dense input runs packed too.
        #expect(try withNoGrad { () throws(LumenError) in try model(x).floats() } == packed)
        model.unpackForInference()
        #expect(model.conv1.packed == nil && model.bn1.foldedIntoConv == false)
        #expect(try withNoGrad { () throws(LumenError) in try model(x).floats() } == dense, "unpacked: the dense network, bit for bit")
        // Training drops the packing (its folded weights would go stale) and runs the dense weights.
        try model.packForInference()
        model.train()
        #expect(model.conv1.packed == nil && !model.bn1.foldedIntoConv)
        let loss = try model(x).sum()
        try loss.backward()
        #expect(try model.conv1.weight.grad.map { try $0.abs().sum().item() } ?? 0 > 0, "gradients reach the stem")
        // Loading weights drops the packing too.
        model.eval()
        try model.packForInference()
        try model.load(stateDict: model.stateDict())
        #expect(model.conv1.packed == nil && !model.bn1.foldedIntoConv)
    }

    @Test func unetFallsBackToDenseWhereOneDNNHasNoKernel() throws {
        for bilinear in [false, true] {
            Runtime.manualSeed(12)
            let model = try UNet(inChannels: 1, numClasses: 2, depth: 2, baseWidth: 4, bilinear: bilinear)
            try Self.randomiseBatchNorms(model)
            model.eval()
            let x = try Tensor.randn([1, 1, 32, 32])
            let dense = try withNoGrad { () throws(LumenError) in try model(x).floats() }
            let packing = try model.packForInference()
            #expect(packing.convolutions > 0 && packing.foldedBatchNorms == packing.convolutions - 1, "all but the 1×1 head")
            // Concatenation, upsampling and transposed convolutions take dense input; the result is the same.
            let packed = try withNoGrad { () throws(LumenError) in try model(x.mkldnn()).dense().floats() }
            #expect(Self.maxDifference(dense, packed) < 1e-4, "bilinear \(bilinear): \(Self.maxDifference(dense, packed))")
            // Without its dense weights (a served model) the convolutions after a dense fallback still run packed.
            #expect(try model.releaseDenseWeightsOfPackedConvolutions() > 0)
            #expect(try withNoGrad { () throws(LumenError) in try model(x).floats() } == packed)
        }
    }

    /// A packed 3×3 convolution's output against libtorch's dense `conv2d` of the same weight and bias.
    static func packedAgainstDense(_ x: Tensor, _ packed: (weight: Tensor, bias: Tensor), weight: Tensor, bias: Tensor,
                                   padding: Int) throws -> (error: Float, scale: Float) {
        let got = try x.mkldnn().packedConv2d(weight: packed.weight, bias: packed.bias, stride: (1, 1), padding: (padding, padding),
                                              dilation: (1, 1), groups: 1).dense().floats()
        let want = try x.conv2d(weight: weight, bias: bias, padding: (padding, padding)).floats()
        #expect(got.count == want.count)
        return (maxDifference(got, want), want.map(Swift.abs).max() ?? 0)
    }

    @Test func winogradConvolutionsMatchDirectOnesForEveryBatchSizeAndFallBackElsewhere() throws {
        Runtime.manualSeed(14)
        try withNoGrad { () throws in
            // ResNet's 3×3 stride-1 shapes, an odd size and no padding; the first call fixes the input size.
            for (channels, size, padding) in [(64, 56, 1), (128, 28, 1), (256, 14, 1), (32, 17, 1), (16, 12, 0)] {
                let weight = try Tensor.randn([channels, channels, 3, 3]) * (1 / Double(channels * 9).squareRoot())
                let bias = try Tensor.randn([channels])
                let packed = try Tensor.packConv2d(weight: weight, bias: bias, batchNorm: nil, stride: (1, 1),
                                                   padding: (padding, padding), dilation: (1, 1), groups: 1)
                #expect(packed.weight.packedConvolutionAlgorithm == .winogradAtFirstInput, "\(channels)")
                for batch in [3, 1, 2, 8] {  // the kernel takes one or two images: odd batches end with one
                    let (error, scale) = try Self.packedAgainstDense(try Tensor.randn([batch, channels, size, size]), packed,
                                                                     weight: weight, bias: bias, padding: padding)
                    #expect(scale > 1 && error <= 1e-5 * scale, "\(channels)×\(size) batch \(batch): \(error) of \(scale)")
                }
                #expect(packed.weight.packedConvolutionAlgorithm == .winograd, "\(channels)×\(size)")
                // Batches of 3 and 8 ran whole as F(4×4, 3×3) in the layers small enough to keep their folded weight.
                let layouts = packed.weight.packedConvolutionWholeBatchLayouts
                #expect(channels <= 128 ? (1...2).contains(layouts) : layouts == 0, "\(channels)×\(size): \(layouts) whole-batch layouts")
                // Another input size has no Winograd weights: the direct packed weight answers, as correctly.
                let (error, scale) = try Self.packedAgainstDense(try Tensor.randn([2, channels, size + 3, size + 3]), packed,
                                                                 weight: weight, bias: bias, padding: padding)
                #expect(error <= 1e-5 * scale, "\(channels)×\(size + 3): \(error) of \(scale)")
                #expect(packed.weight.packedConvolutionAlgorithm == .winograd)
            }
            // A Winograd convolution's output (oneDNN's blocked layout) feeding the next one, as in a network.
            let w1 = try Tensor.randn([64, 64, 3, 3]) * 0.04, w2 = try Tensor.randn([64, 64, 3, 3]) * 0.04
            let b = try Tensor.zeros([64])
            let p1 = try Tensor.packConv2d(weight: w1, bias: b, batchNorm: nil, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
            let p2 = try Tensor.packConv2d(weight: w2, bias: b, batchNorm: nil, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
            let x = try Tensor.randn([5, 64, 20, 20])
            let chained = try x.mkldnn().packedConv2d(weight: p1.weight, bias: p1.bias, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
                .relu().packedConv2d(weight: p2.weight, bias: p2.bias, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1).dense().floats()
            let reference = try x.conv2d(weight: w1, bias: b, padding: (1, 1)).relu().conv2d(weight: w2, bias: b, padding: (1, 1)).floats()
            let scale = reference.map(Swift.abs).max() ?? 0
            #expect(scale > 0.1 && Self.maxDifference(chained, reference) <= 1e-5 * scale)
            #expect(p1.weight.packedConvolutionAlgorithm == .winograd && p2.weight.packedConvolutionAlgorithm == .winograd)
        }
    }

    @Test func winogradWeightsMadeConcurrentlyAnswerLikeDirectAndOtherParametersRunDirect() throws {
        Runtime.manualSeed(15)
        let weight = try Tensor.randn([64, 64, 3, 3]) * 0.04, bias = try Tensor.randn([64])
        let packed = try Tensor.packConv2d(weight: weight, bias: bias, batchNorm: nil, stride: (1, 1), padding: (1, 1),
                                           dilation: (1, 1), groups: 1)
        let inputs = try [3, 8, 1, 5, 2, 7].map { try Tensor.randn([$0, 64, 24, 24]) }
        let expected = try inputs.map { try $0.conv2d(weight: weight, bias: bias, padding: (1, 1)).floats() }
        // Four threads make the Winograd weights and the whole-batch layouts at once (serving's compute threads).
        let errors = Failures()
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            do {
                try withNoGrad { () throws in
                    for k in 0..<inputs.count {
                        let i = (k + t) % inputs.count
                        let got = try inputs[i].mkldnn().packedConv2d(weight: packed.weight, bias: packed.bias, stride: (1, 1), padding: (1, 1),
                                                                       dilation: (1, 1), groups: 1).dense().floats()
                        let scale = expected[i].map(Swift.abs).max() ?? 0
                        if got.count != expected[i].count || Self.maxDifference(got, expected[i]) > 1e-5 * scale {
                            errors.add("thread \(t) batch \(inputs[i].shape[0]): \(Self.maxDifference(got, expected[i]))")
                        }
                    }
                }
            } catch { errors.add("thread \(t): \(error)") }
        }
        #expect(errors.all.isEmpty, "\(errors.all)")
        #expect(packed.weight.packedConvolutionAlgorithm == .winograd && packed.weight.packedConvolutionWholeBatchLayouts >= 1)
        // Another bias than the packed one, or another padding, is not the convolution the Winograd weights were made
        // for: the direct path answers it, correctly.
        let otherBias = try Tensor.randn([64])
        let got = try inputs[0].mkldnn().packedConv2d(weight: packed.weight, bias: otherBias, stride: (1, 1), padding: (1, 1),
                                                      dilation: (1, 1), groups: 1).dense().floats()
        let want = try inputs[0].conv2d(weight: weight, bias: otherBias, padding: (1, 1)).floats()
        #expect(Self.maxDifference(got, want) <= 1e-5 * (want.map(Swift.abs).max() ?? 0))
        // Changing the module's weight in place after packing changes neither path (each holds its own copy).
        let before = try inputs[1].mkldnn().packedConv2d(weight: packed.weight, bias: packed.bias, stride: (1, 1), padding: (1, 1),
                                                         dilation: (1, 1), groups: 1).dense().floats()
        try withNoGrad { () throws in try weight.copy(from: Tensor.zeros([64, 64, 3, 3])) }
        let after = try inputs[1].mkldnn().packedConv2d(weight: packed.weight, bias: packed.bias, stride: (1, 1), padding: (1, 1),
                                                        dilation: (1, 1), groups: 1).dense().floats()
        #expect(before == after && Self.maxDifference(after, expected[1]) <= 1e-5 * (expected[1].map(Swift.abs).max() ?? 0))
    }

    @Test func winogradIsOnlyForSmallThreeByThreeStrideOneConvolutionsAndCanBeTurnedOff() throws {
        func algorithm(out: Int, in inC: Int, kernel: Int = 3, stride: Int = 1, groups: Int = 1) throws -> Tensor.PackedConvolutionAlgorithm {
            let weight = try Tensor.randn([out, inC / groups, kernel, kernel])
            return try Tensor.packConv2d(weight: weight, bias: nil, batchNorm: nil, stride: (stride, stride), padding: (1, 1),
                                         dilation: (1, 1), groups: groups).weight.packedConvolutionAlgorithm
        }
        #expect(try algorithm(out: 256, in: 256) == .winogradAtFirstInput)
        #expect(try algorithm(out: 512, in: 512) == .direct, "its Winograd weights would take 1.8× the memory for little gain")
        #expect(try algorithm(out: 64, in: 64, stride: 2) == .direct)
        #expect(try algorithm(out: 64, in: 64, kernel: 1) == .direct)
        #expect(try algorithm(out: 64, in: 64, groups: 4) == .direct)
        #expect(try algorithm(out: 64, in: 3) == .direct, "an image's channels: no Winograd blocking")
        #expect(Tensor.winogradSupport == .on)
        setenv("LUMEN_WINOGRAD", "0", 1)
        defer { unsetenv("LUMEN_WINOGRAD") }
        #expect(Tensor.winogradSupport == .turnedOff)
        #expect(try algorithm(out: 64, in: 64) == .direct)
    }

    @Test func unevenAdaptivePoolingAndDenseReadsWork() throws {
        Runtime.manualSeed(13)
        let x = try Tensor.randn([1, 4, 10, 10])
        let pooled = try x.mkldnn().adaptiveAvgPool2d((7, 7))
        #expect(try pooled.floats() == x.adaptiveAvgPool2d((7, 7)).floats(), "10 → 7 has no oneDNN kernel: computed dense")
        #expect(try x.mkldnn().floats() == x.floats(), "reading an mkldnn tensor converts it")
        let opaque = try x.mkldnn()
        #expect(!x.isMkldnn && opaque.isMkldnn && !opaque.isChannelsLast)
        #expect(throws: LumenError.self) { try Tensor.zeros([2], dtype: .int64).mkldnn() }
    }
}
