import Testing
import LumenTensor
@testable import LumenNN

@Suite struct LossTests {
    @Test func diceIsZeroForAPerfectPredictionAndOneForDisjoint() throws {
        let target = try Tensor([0, 1, 1, 0] as [Int64], shape: [1, 2, 2])
        let perfect = try Tensor([50, -50, -50, 50, -50, 50, 50, -50] as [Float], shape: [1, 2, 2, 2])
        #expect(try DiceLoss(smooth: 0).callAsFunction(perfect, target).item() < 1e-6)
        let wrong = try -perfect
        #expect(try DiceLoss(smooth: 0).callAsFunction(wrong, target).item() > 0.999)
        // One channel, sigmoid: a (N, H, W) float mask works too.
        let binary = try Tensor([30, -30, -30, 30] as [Float], shape: [1, 1, 2, 2])
        #expect(try DiceLoss(smooth: 0).callAsFunction(binary, Tensor([1, 0, 0, 1] as [Float], shape: [1, 2, 2])).item() < 1e-6)
    }

    @Test func focalLossWithGammaZeroIsCrossEntropy() throws {
        let logits = try Tensor.randn([8, 3]), target = try Tensor.randint(0, 3, [8])
        let focal = try FocalLoss(gamma: 0)(logits, target).item()
        let ce = try CrossEntropyLoss()(logits, target).item()
        #expect(Swift.abs(focal - ce) < 1e-6)
        #expect(try FocalLoss(gamma: 2)(logits, target).item() < ce)
        let b = try Tensor.randn([8, 1]), bt = try Tensor.randint(0, 2, [8]).to(.float32)
        let bf = try FocalLoss(gamma: 0)(b, bt).item()
        let bce = try BCEWithLogitsLoss()(b, bt.reshape([8, 1])).item()
        #expect(Swift.abs(bf - bce) < 1e-6)
    }

    @Test func crossEntropyOptionsApply() throws {
        let logits = try Tensor.randn([4, 3]), target = try Tensor([0, 1, 2, -100] as [Int64])
        let plain = try CrossEntropyLoss()(logits, target).item()
        let smoothed = try CrossEntropyLoss(labelSmoothing: 0.2)(logits, target).item()
        #expect(plain != smoothed)
        let weighted = try CrossEntropyLoss(classWeights: [1, 1, 1])(logits, target).item()
        #expect(Swift.abs(weighted - plain) < 1e-6)
        let perSample = try CrossEntropyLoss(reduction: .none)(logits, target)
        #expect(perSample.shape == [4])
        #expect(try perSample.floats()[3] == 0)  // ignored index
    }

    @Test func diceCECombinesBoth() throws {
        let logits = try Tensor.randn([2, 3, 4, 4]), target = try Tensor.randint(0, 3, [2, 4, 4])
        let combined = try DiceCELoss()(logits, target).item()
        let parts = try DiceLoss()(logits, target).item() + crossEntropy(logits, target).item()
        #expect(Swift.abs(combined - parts) < 1e-5)
    }
}
