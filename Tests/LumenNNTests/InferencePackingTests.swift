import Foundation
import Testing
import LumenTensor
@testable import LumenNN

/// `packForInference()`: oneDNN-packed convolutions with folded batch norms give the dense network's outputs
/// for mkldnn inputs and leave training and autograd alone.
@Suite struct InferencePackingTests {
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
