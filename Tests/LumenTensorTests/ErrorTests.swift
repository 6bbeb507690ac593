import Testing
@testable import LumenTensor

/// Every native failure is a thrown `LumenError` carrying libtorch's message, never a crash.
@Suite struct ErrorTests {
    @Test func shapeMismatchThrows() throws {
        let a = try Tensor.zeros([2, 3]), b = try Tensor.zeros([4, 5])
        #expect(throws: LumenError.self) { try a + b }
        do {
            _ = try a.matmul(b)
            Issue.record("matmul of 2×3 by 4×5 should fail")
        } catch let LumenError.torch(op, message) {
            #expect(op == "matmul")
            let namesBothShapes = message.contains("2x3 and 4x5")
            #expect(namesBothShapes, "libtorch names both shapes")
        }
    }

    @Test func badArgumentsThrow() throws {
        let a = try Tensor.zeros([2, 3])
        #expect(throws: LumenError.self) { try a.reshape([7]) }
        #expect(throws: LumenError.self) { try a.view([5, -1]) }
        #expect(throws: LumenError.self) { try a.permute([0]) }
        #expect(throws: LumenError.self) { try a.select(dim: 0, index: 10) }
        #expect(throws: LumenError.self) { try a[5] }
        #expect(throws: LumenError.self) { try a.squeeze(4) }
        #expect(throws: LumenError.self) { try a.split(0) }
        #expect(throws: LumenError.self) { try Tensor.cat([], dim: 0) }
        #expect(throws: LumenError.self) { try Tensor.zeros([-1]) }
        #expect(throws: LumenError.self) { try Tensor([1, 2, 3] as [Float], shape: [2, 2]) }
        #expect(throws: LumenError.self) { try a.item() }
        #expect(throws: LumenError.self) { try a.conv2d(weight: Tensor.zeros([1, 1, 3, 3]), bias: nil) }
        #expect(throws: LumenError.self) { try a.interpolate(scale: 2) }
        #expect(throws: LumenError.self) { try a.to(device: .cuda(7)) }
        #expect(throws: LumenError.self) { try a.dropout(1.5, training: true) }
        #expect(throws: LumenError.self) { try Tensor.randint(5, 1, [3]) }
    }

    @Test func dtypeMismatchThrows() throws {
        let logits = try Tensor.randn([4, 3])
        let wrongTarget = try Tensor([0.0, 1, 2, 1] as [Float])
        // float targets of the wrong shape are rejected by libtorch
        #expect(throws: LumenError.self) { try crossEntropy(logits, wrongTarget) }
        let outOfRange = try Tensor([0, 1, 7, 1] as [Int64])
        #expect(throws: LumenError.self) { try crossEntropy(logits, outOfRange) }
        #expect(throws: LumenError.self) { try Tensor.zeros([2]).logicalAnd(Tensor.zeros([3])) }
    }

    @Test func backwardWithoutGraphThrows() throws {
        let a = try Tensor.ones([2])
        #expect(throws: LumenError.self) { try a.sum().backward() }
        let b = try Tensor.ones([2]).requiringGrad()
        #expect(throws: LumenError.self) { try (b * 2).backward() }  // non-scalar without a gradient
    }

    @Test func errorsReadWell() {
        let e = LumenError.invalidArgument(field: "shape", reason: "bad")
        #expect(e.description == "invalid shape: bad")
        #expect(LumenError.file(path: "/x.safetensors", reason: "truncated").description == "/x.safetensors: truncated")
    }
}
