import Testing
@testable import LumenTensor

/// Printing follows PyTorch's `repr` (strings checked against what PyTorch prints for the same values).
@Suite struct DescriptionTests {
    @Test func matchesPyTorchRepr() throws {
        #expect(try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2]).description == "tensor([[1., 2.],\n        [3., 4.]])")
        #expect(try Tensor([1, 2, 3] as [Int64]).description == "tensor([1, 2, 3])")
        #expect(try Tensor([0.5, 0.25] as [Double]).description == "tensor([0.5000, 0.2500], dtype=torch.float64)")
        #expect(try Tensor([true, false]).description == "tensor([ True, False])")
        #expect(try Tensor(scalar: 2).description == "tensor(2.)")
        #expect(try Tensor([1, -2] as [Float]).requiringGrad().description == "tensor([ 1., -2.], requires_grad=True)")
        #expect(try Tensor.zeros([0]).description == "tensor([])")
        #expect(try Tensor([1, 2] as [UInt8]).description == "tensor([1, 2], dtype=torch.uint8)")
    }

    @Test func summarisesLargeTensors() throws {
        let text = try Tensor.arange(0, 2000, dtype: .int64).description
        #expect(text == "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])", "PyTorch's summary: \(text)")
        #expect(text.count < 100)
    }
}
