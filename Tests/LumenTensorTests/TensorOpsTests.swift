import Testing
@testable import LumenTensor

@Suite struct TensorOpsTests {
    @Test func arithmeticBroadcasts() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        let b = try Tensor([10, 20, 30] as [Float])
        #expect(try (a + b).floats() == [11, 22, 33, 14, 25, 36])
        #expect(try (a - b).floats() == [-9, -18, -27, -6, -15, -24])
        #expect(try (a * 2).floats() == [2, 4, 6, 8, 10, 12])
        #expect(try (1 - a).floats() == [0, -1, -2, -3, -4, -5])
        #expect(try (a / b).floats().map { ($0 * 100).rounded() } == [10, 10, 10, 40, 25, 20])
        #expect(try (6 / a).floats() == [6, 3, 2, 1.5, 1.2, 1])
        #expect(try (-a).floats() == [-1, -2, -3, -4, -5, -6])
        #expect(try (a + b).shape == [2, 3])
    }

    @Test func matmulAndReductions() throws {
        let a = try Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        let b = try Tensor([1, 0, 0, 1, 1, 1] as [Float], shape: [3, 2])
        #expect(try a.matmul(b).floats() == [4, 5, 10, 11])
        #expect(try a.sum().item() == 21)
        #expect(try a.sum(dims: [0]).floats() == [5, 7, 9])
        #expect(try a.mean(dims: [1], keepDim: true).shape == [2, 1])
        #expect(try a.mean(dims: [1]).floats() == [2, 5])
        #expect(try a.max().item() == 6)
        #expect(try a.min(dims: [1]).floats() == [1, 4])
        #expect(try a.argmax(dim: 1).int64s() == [2, 2])
        #expect(try a.argmax().itemInt() == 5)
        #expect(try a.argmin(dim: 0).int64s() == [0, 0, 0])
        #expect(Swift.abs(try a.variance().item() - 3.5) < 1e-6)
    }

    @Test func shapeOps() throws {
        let a = try Tensor.arange(0, 24, dtype: .float32).reshape([2, 3, 4])
        #expect(try a.permute([2, 0, 1]).shape == [4, 2, 3])
        #expect(try a.transpose(0, 2).shape == [4, 3, 2])
        #expect(try a.flatten().shape == [24])
        #expect(try a.flatten(startDim: 1).shape == [2, 12])
        #expect(try a.view([6, 4]).shape == [6, 4])
        #expect(try a.unsqueeze(0).shape == [1, 2, 3, 4])
        #expect(try a.unsqueeze(0).squeeze().shape == [2, 3, 4])
        #expect(try a.reshape([2, 1, 12]).squeeze(1).shape == [2, 12])
        #expect(try Tensor.cat([a, a], dim: 1).shape == [2, 6, 4])
        #expect(try Tensor.stack([a, a, a], dim: 0).shape == [3, 2, 3, 4])
        let parts = try a.split(3, dim: 2)
        #expect(parts.map(\.shape) == [[2, 3, 3], [2, 3, 1]])
        #expect(try a[1].shape == [3, 4])
        #expect(try a[1][2].floats() == [20, 21, 22, 23])
        #expect(try a[0..<1].shape == [1, 3, 4])
        #expect(try a.slice(dim: 2, start: 1, end: 4, step: 2).floats().prefix(2) == [1, 3])
        #expect(try a.slice(dim: 2, start: -1).shape == [2, 3, 1])
        #expect(try a.indexSelect(dim: 1, index: Tensor([2, 0] as [Int64])).select(dim: 0, index: 0).floats() == [8, 9, 10, 11, 0, 1, 2, 3])
        #expect(try a.expand([2, 2, 3, 4]).shape == [2, 2, 3, 4])
        #expect(try a.transpose(0, 1).contiguous().view([6, 4]).shape == [6, 4])
    }

    @Test func comparisonsWhereAndClamp() throws {
        let a = try Tensor([-2, -0.5, 0, 0.5, 2] as [Float])
        #expect(try (a .> 0).bools() == [false, false, false, true, true])
        #expect(try (a .<= 0).bools() == [true, true, true, false, false])
        #expect(try (a .== Tensor([-2, 0, 0, 0.5, 1] as [Float])).bools() == [true, false, true, true, false])
        #expect(try (a .!= 0).bools() == [true, true, false, true, true])
        #expect(try Tensor.where(a .> 0, a, a * 0).floats() == [0, 0, 0, 0.5, 2])
        #expect(try a.clamp(min: -1, max: 1).floats() == [-1, -0.5, 0, 0.5, 1])
        #expect(try a.clamp(min: 0).floats() == [0, 0, 0, 0.5, 2])
        #expect(try a.maskedFill(a .< 0, -9).floats() == [-9, -9, 0, 0.5, 2])
        #expect(try (a .> 0).logicalAnd(a .< 1).bools() == [false, false, false, true, false])
    }

    @Test func activations() throws {
        let a = try Tensor([-1, 0, 1] as [Float])
        #expect(try a.relu().floats() == [0, 0, 1])
        #expect(try a.leakyRelu(0.1).floats() == [-0.1, 0, 1])
        #expect(Swift.abs(try a.sigmoid().floats()[2] - 0.7310586) < 1e-6)
        #expect(Swift.abs(try a.tanh().floats()[0] + 0.7615942) < 1e-6)
        #expect(Swift.abs(try a.gelu().floats()[2] - 0.8413447) < 1e-6)
        let s = try a.reshape([1, 3]).softmax(dim: 1)
        #expect(Swift.abs(try s.sum().item() - 1) < 1e-6)
        #expect(Swift.abs(try a.reshape([1, 3]).logSoftmax(dim: 1).exp().sum().item() - 1) < 1e-6)
    }

    @Test func nnShapes() throws {
        let x = try Tensor.randn([2, 3, 8, 8])
        #expect(try x.maxPool2d(kernel: (2, 2)).shape == [2, 3, 4, 4])
        #expect(try x.avgPool2d(kernel: (2, 2)).shape == [2, 3, 4, 4])
        #expect(try x.adaptiveAvgPool2d((1, 1)).shape == [2, 3, 1, 1])
        #expect(try x.interpolate(size: (5, 7), mode: .bilinear).shape == [2, 3, 5, 7])
        #expect(try x.interpolate(scale: 2).shape == [2, 3, 16, 16])
        let d = try Tensor.ones([1000]).dropout(0.5, training: true)
        let kept = try (d .> 0).to(.float32).sum().item()
        #expect(kept > 400 && kept < 600)
        #expect(try Tensor.ones([10]).dropout(0.5, training: false).floats() == Array(repeating: 1, count: 10))
    }

    @Test func dtypeConversionsRoundTrip() throws {
        let a = try Tensor([1.5, -2.5, 300] as [Float])
        #expect(a.dtype == .float32)
        #expect(try a.to(.float64).doubles() == [1.5, -2.5, 300])
        #expect(try a.to(.int64).int64s() == [1, -2, 300])
        #expect(try a.to(.int32).to(.float32).floats() == [1, -2, 300])
        #expect(try a.to(.float16).floats() == [1.5, -2.5, 300])
        #expect(try a.to(.bfloat16).floats() == [1.5, -2.5, 300])
        #expect(try Tensor([0, 128, 255] as [UInt8]).to(.float32).floats() == [0, 128, 255])
        #expect(try Tensor([true, false]).bools() == [true, false])
        for dtype in DType.allCases {
            #expect(try Tensor.zeros([2, 2], dtype: dtype).dtype == dtype)
        }
        #expect(try Tensor(scalar: 3.25).item() == 3.25)
        #expect(try Tensor(scalar: 3.25).shape == [])
    }

    @Test func autogradBasics() throws {
        let x = try Tensor([1, 2, 3] as [Float]).requiringGrad()
        #expect(x.requiresGrad)
        let y = try (x * x).sum()
        try y.backward()
        #expect(try x.grad?.floats() == [2, 4, 6])
        try x.zeroGrad()
        #expect(x.grad == nil)
        let z = try withNoGrad { try x * 2 }
        #expect(!z.requiresGrad)
        #expect(Runtime.isGradEnabled)
        #expect(!(try x.detach().requiresGrad))
    }

    @Test func inPlaceUpdates() throws {
        let a = try Tensor.zeros([3])
        try a.fill(2)
        try a.addInPlace(Tensor([1, 2, 3] as [Float]), alpha: 2)
        #expect(try a.floats() == [4, 6, 8])
        try a.scaleInPlace(0.5)
        #expect(try a.floats() == [2, 3, 4])
        try a.copy(from: Tensor([7] as [Float]))
        #expect(try a.floats() == [7, 7, 7])
    }

    @Test func recordedInPlaceOpsKeepGradients() throws {
        // (relu_(2x + y)) summed: the gradient is 2 where 2x + y > 0 for x, 1 there for y, and 0 elsewhere.
        let x = try Tensor([-3, -1, 1, 2] as [Float]).requiringGrad()
        let y = try Tensor([1, 4, -5, 1] as [Float]).requiringGrad()
        let h = try x * 2
        let same = try h.addRecordedInPlace(y).reluInPlace()
        #expect(same === h)
        #expect(try h.floats() == [0, 2, 0, 5])
        try h.sum().backward()
        #expect(try x.grad?.floats() == [0, 2, 0, 2])
        #expect(try y.grad?.floats() == [0, 1, 0, 1])
        // A leaf that needs its gradient cannot be overwritten: a clear error, not a crash.
        #expect(throws: LumenError.self) { try x.reluInPlace() }
    }

    @Test func threadsDefaultToAllCores() throws {
        _ = try Tensor.zeros([1])
        #expect(Runtime.threads >= 1)
        #expect(!Runtime.libtorchVersion.isEmpty)
    }
}
