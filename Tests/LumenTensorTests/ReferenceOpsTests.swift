import Foundation
import Testing
@testable import LumenTensor

/// Outputs and input gradients of each op against PyTorch's own values (float64).
@Suite struct ReferenceOpsTests {
    typealias Op = @Sendable ([Tensor], [String: Tensor]) throws -> Tensor

    static let ops: [String: Op] = [
        "conv2d_s2_p1": { x, _ in try x[0].conv2d(weight: x[1], bias: x[2], stride: (2, 2), padding: (1, 1)) },
        "conv2d_dil2_g2": { x, _ in try x[0].conv2d(weight: x[1], bias: nil, padding: (2, 2), dilation: (2, 2), groups: 2) },
        "conv_transpose2d_s2": { x, _ in try x[0].convTranspose2d(weight: x[1], bias: x[2], stride: (2, 2)) },
        "batch_norm_train": { x, _ in
            try x[0].batchNorm(weight: x[1], bias: x[2], runningMean: Tensor.zeros([3], dtype: .float64),
                               runningVar: Tensor.ones([3], dtype: .float64), training: true, momentum: 0.1, eps: 1e-5)
        },
        "max_pool2d_k3_s2_p1": { x, _ in try x[0].maxPool2d(kernel: (3, 3), stride: (2, 2), padding: (1, 1)) },
        "avg_pool2d_k2": { x, _ in try x[0].avgPool2d(kernel: (2, 2)) },
        "adaptive_avg_pool2d_1": { x, _ in try x[0].adaptiveAvgPool2d((1, 1)) },
        "adaptive_avg_pool2d_7": { x, _ in try x[0].adaptiveAvgPool2d((7, 7)) },
        "interpolate_bilinear_x2": { x, _ in try x[0].interpolate(scale: 2, mode: .bilinear, alignCorners: false) },
        "interpolate_bilinear_x2_ac": { x, _ in try x[0].interpolate(scale: 2, mode: .bilinear, alignCorners: true) },
        "interpolate_nearest_x2": { x, _ in try x[0].interpolate(scale: 2, mode: .nearest) },
        "gelu": { x, _ in try x[0].gelu() },
        "leaky_relu_0.1": { x, _ in try x[0].leakyRelu(0.1) },
        "log_softmax_dim1": { x, _ in try x[0].logSoftmax(dim: 1) },
        "linear": { x, _ in try x[0].linear(weight: x[1], bias: x[2]) },
        "cross_entropy_weighted_smooth_ignore": { x, all in
            try crossEntropy(x[0], all["cross_entropy.target"]!, weight: Tensor([1.0, 2.0, 0.5]),
                             ignoreIndex: -100, labelSmoothing: 0.1)
        },
        "bce_with_logits_pos_weight": { x, all in
            try binaryCrossEntropyWithLogits(x[0], all["bce.target"]!, posWeight: Tensor([3.0, 0.5]))
        },
    ]

    struct Case: Decodable { let name: String; let inputs: Int }
    struct Manifest: Decodable { let cases: [Case] }

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: Fixtures.reference.appendingPathComponent("ops.json"))
        return try JSONDecoder().decode(Manifest.self, from: data).cases
    }

    @Test func everyReferenceCaseHasAnImplementation() throws {
        let names = try Self.cases().map(\.name)
        #expect(names.count == 17)
        #expect(Set(names).subtracting(Self.ops.keys).isEmpty)
    }

    @Test(arguments: try! ReferenceOpsTests.cases().map(\.name))
    func matchesPyTorch(_ name: String) throws {
        let all = try Fixtures.tensors("ops.safetensors")
        let count = try Self.cases().first { $0.name == name }!.inputs
        let inputs = try (0..<count).map { i -> Tensor in
            let t = all["\(name).in\(i)"]!
            return t.dtype.isFloatingPoint ? try t.clone().requiringGrad() : t
        }
        let op = try #require(Self.ops[name])
        let out = try op(inputs, all)
        let expected = try #require(all["\(name).out"])
        #expect(out.shape == expected.shape, "\(name): shape")
        #expect(try maxAbsDiff(out, expected) < 1e-9, "\(name): output")

        let upstream = try #require(all["\(name).upstream"])
        try (out * upstream).sum().backward()
        var checked = 0
        for (i, input) in inputs.enumerated() {
            let reference = try #require(all["\(name).grad\(i)"], "\(name): no reference gradient for input \(i)")
            let grad = try #require(input.grad, "\(name): no gradient for input \(i)")
            #expect(try maxAbsDiff(grad, reference) < 1e-9, "\(name): gradient of input \(i)")
            checked += 1
        }
        #expect(checked == inputs.count, "every input's gradient is compared")
    }
}
