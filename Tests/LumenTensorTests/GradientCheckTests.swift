import Testing
@testable import LumenTensor

/// Autograd gradients against central finite differences, in float64.
@Suite struct GradientCheckTests {
    static let ops: [(String, @Sendable (Tensor) throws -> Tensor)] = [
        ("sigmoid", { try $0.sigmoid() }),
        ("tanh", { try $0.tanh() }),
        ("softmax", { try $0.softmax(dim: 1) }),
        ("matmul", { try $0.matmul($0.transpose(0, 1)) }),
        ("div-exp", { try $0 / ($0.exp() + 1) }),
        ("pow-mean", { try $0.pow(3).mean(dims: [1], keepDim: true) * $0 }),
        ("conv", { try $0.reshape([1, 1, 3, 4]).conv2d(weight: Tensor([0.5, -1, 0.25, 2], shape: [1, 1, 2, 2]), bias: nil) }),
        ("clamp", { try $0.clamp(min: -0.5, max: 0.7) }),
    ]

    @Test(arguments: 0..<ops.count)
    func finiteDifferences(_ index: Int) throws {
        let (name, f) = Self.ops[index]
        Runtime.manualSeed(UInt64(index))
        let x0 = try Tensor.randn([3, 4], dtype: .float64)
        let x = try x0.clone().requiringGrad()
        let y = try f(x)
        let weights = try Tensor.randn(y.shape, dtype: .float64)
        try (y * weights).sum().backward()
        let analytic = try #require(x.grad).doubles()

        let base = try x0.doubles()
        let h = 1e-6
        for i in 0..<base.count {
            var plus = base, minus = base
            plus[i] += h
            minus[i] -= h
            let fp = try (f(Tensor(plus, shape: [3, 4])) * weights).sum().item()
            let fm = try (f(Tensor(minus, shape: [3, 4])) * weights).sum().item()
            let numeric = (fp - fm) / (2 * h)
            #expect(Swift.abs(numeric - analytic[i]) < 1e-5 * max(1, Swift.abs(numeric)), "\(name)[\(i)]: \(numeric) vs \(analytic[i])")
        }
    }
}
