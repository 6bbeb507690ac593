import Foundation
import Testing
import LumenTensor
@testable import LumenNN

/// Five steps minimising sum((A w − b)²) equal PyTorch's weights after each step (float64).
@Suite struct OptimizerTests {
    static let makers: [String: @Sendable ([Tensor]) throws -> Optimizer] = [
        "sgd(lr=0.01)": { try SGD($0, lr: 0.01) },
        "sgd(lr=0.01,momentum=0.9,nesterov=True,weight_decay=0.001)": { try SGD($0, lr: 0.01, momentum: 0.9, weightDecay: 1e-3, nesterov: true) },
        "adam(lr=0.01)": { try Adam($0, lr: 0.01) },
        "adam(lr=0.01,weight_decay=0.01)": { try Adam($0, lr: 0.01, weightDecay: 0.01) },
        "adamw(lr=0.01,weight_decay=0.01)": { try AdamW($0, lr: 0.01, weightDecay: 0.01) },
    ]

    @Test(arguments: Array(makers.keys).sorted())
    func fiveStepsMatchPyTorch(_ name: String) throws {
        let ref = try Safetensors.load(Fixtures.reference.appendingPathComponent("optim.safetensors"))
        let A = try #require(ref["A"]), b = try #require(ref["b"])
        let w = try #require(ref["w0"]).clone().requiringGrad()
        let optimizer = try Self.makers[name]!([w])
        for step in 1...5 {
            try optimizer.zeroGrad()
            try (A.matmul(w) - b).pow(2).sum().backward()
            try optimizer.step()
            let expected = try #require(ref["\(name).step\(step)"])
            let diff = try (w - expected).abs().max().item()
            #expect(diff < 1e-10, "\(name) step \(step): max diff \(diff)")
        }
        // libtorch's SGD keeps no state without momentum; every other optimizer keeps one entry for its one parameter.
        #expect(optimizer.stateCount == (name == "sgd(lr=0.01)" ? 0 : 1), "\(name): \(optimizer.stateCount) states")
    }

    @Test func parameterGroupsUseTheirOwnRates() throws {
        let backbone = try Tensor([1.0]).requiringGrad(), head = try Tensor([1.0]).requiringGrad()
        let optimizer = try SGD([ParameterGroup([backbone], learningRate: 0.001), ParameterGroup([head], learningRate: 0.1)], lr: 0.01)
        #expect(optimizer.groupCount == 2)
        try (backbone + head).sum().backward()
        try optimizer.step()
        #expect(Swift.abs(try backbone.item() - 0.999) < 1e-12)
        #expect(Swift.abs(try head.item() - 0.9) < 1e-12)
    }

    @Test func gradientClippingBoundsTheNorm() throws {
        let w = try Tensor([3.0, 4.0]).requiringGrad()
        try (w * w).sum().backward()  // grad = (6, 8), norm 10
        let norm = try clipGradNorm([w], maxNorm: 1)
        #expect(Swift.abs(norm - 10) < 1e-9)
        let g = try #require(w.grad).doubles()
        #expect(Swift.abs(sqrt(g[0] * g[0] + g[1] * g[1]) - 1) < 1e-5)
    }

    @Test func invalidConfigurationsThrow() throws {
        let w = try Tensor([1.0]).requiringGrad()
        #expect(throws: LumenError.self) { try SGD([w], lr: 0.1, nesterov: true) }
        #expect(throws: LumenError.self) { try SGD([Tensor](), lr: 0.1) }
        #expect(throws: LumenError.self) { try SGD([w], lr: -1) }
    }
}

@Suite struct ZeroGradTests {
    @Test func zeroGradDropsOrZeroesGradients() throws {
        let w = try Tensor([1.0, 2.0]).requiringGrad()
        let optimizer = try SGD([w], lr: 0.1)
        try (w * w).sum().backward()
        try optimizer.zeroGrad(setToNone: false)
        #expect(try w.grad?.doubles() == [0, 0])
        try (w * w).sum().backward()
        try optimizer.zeroGrad()
        #expect(w.grad == nil)
        try (w * 3).sum().backward()
        #expect(try w.grad?.doubles() == [3, 3])
    }
}
