import ArgumentParser
import Foundation
import LumenNN
import LumenTensor

/// `lumen doctor`: proves the native stack works here by training a small CNN on a synthetic task.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installation: train a SimpleCNN on a synthetic task and report accuracy and speed.")

    @Option(name: .long, help: "Training steps.")
    var steps = 40

    @Option(name: .long, help: "Device: cpu, cuda, cuda:N or auto.")
    var device = "auto"

    func run() throws {
        let target = try Device(parsing: device)
        Runtime.manualSeed(0)
        // Class 1 images are brighter in their left half: separable, so a working stack reaches ~100 %.
        func batch(_ n: Int) throws -> (Tensor, Tensor) {
            let labels = try Tensor.randint(0, 2, [n])
            let shift = try labels.to(.float32).reshape([n, 1, 1, 1]) * 1.5
            let noise = try Tensor.randn([n, 1, 16, 16])
            let left = try Tensor.cat([Tensor.ones([1, 1, 16, 8]), Tensor.zeros([1, 1, 16, 8])], dim: 3)
            return (try (noise + shift * left).to(device: target), try labels.to(device: target))
        }
        let model = try SimpleCNN(inChannels: 1, numClasses: 2, width: 8)
        try model.to(device: target)
        let optimizer = try Adam(model.parameters(), lr: 0.01)
        let loss = CrossEntropyLoss()
        let start = Date()
        model.train()
        for step in 1...max(1, steps) {
            let (x, y) = try batch(32)
            try optimizer.zeroGrad()
            let l = try loss(model(x), y)
            try l.backward()
            try optimizer.step()
            if step % 10 == 0 || step == steps {
                FileHandle.standardError.write(Data(String(format: "\rtraining %3d/%d  loss %.4f", step, steps, try l.item()).utf8))
            }
        }
        FileHandle.standardError.write(Data("\n".utf8))
        let seconds = Date().timeIntervalSince(start)
        model.eval()
        let (x, y) = try batch(500)
        let accuracy = try withNoGrad { try (model(x).argmax(dim: 1) .== y).to(.float32).mean().item() }
        print(String(format: "device %@  accuracy %.1f %%  %.0f images/s", target.description, accuracy * 100, Double(steps * 32) / seconds))
        guard accuracy > 0.9 else { throw ValidationError("accuracy \(accuracy) is too low: the native stack is not working") }
        try checkPackedInference()
        print("ok")
    }

    /// What serving, `lumen predict` and evaluation run on the CPU: a 64-channel 3×3 convolution packed for oneDNN
    /// (Winograd unless turned off or built without oneDNN's headers) against libtorch's dense one.
    func checkPackedInference() throws {
        Runtime.manualSeed(1)
        let weight = try Tensor.randn([64, 64, 3, 3]) * 0.04, bias = try Tensor.randn([64]), x = try Tensor.randn([3, 64, 20, 20])
        let (packed, dense) = try withNoGrad { () throws -> (Tensor, [Float]) in
            let p = try Tensor.packConv2d(weight: weight, bias: bias, batchNorm: nil, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
            let out = try x.mkldnn().packedConv2d(weight: p.weight, bias: p.bias, stride: (1, 1), padding: (1, 1), dilation: (1, 1), groups: 1)
            return (p.weight, try out.dense().floats())
        }
        let reference = try withNoGrad { try x.conv2d(weight: weight, bias: bias, padding: (1, 1)).floats() }
        let scale = reference.map(abs).max() ?? 0
        let difference = dense.count == reference.count ? zip(dense, reference).map { abs($0 - $1) }.max() ?? 0 : .infinity
        let algorithm: String
        switch packed.packedConvolutionAlgorithm {
        case .winograd: algorithm = "as Winograd F(2×2, 3×3) / F(4×4, 3×3)"
        case .direct where Tensor.winogradSupport == .turnedOff: algorithm = "direct (LUMEN_WINOGRAD=0)"
        case .direct: algorithm = "direct (this build has no oneDNN headers: no Winograd)"
        case .winogradAtFirstInput, .directForThisSize: algorithm = "direct (oneDNN has no Winograd kernel here)"
        }
        print(String(format: "inference: oneDNN packed convolutions, 3×3 layers %@; max difference from the dense convolution %.1e (outputs up to %.1f)",
                     algorithm, difference, scale))
        guard dense.allSatisfy(\.isFinite), difference <= 1e-4 * max(scale, 1) else {
            throw ValidationError("packed inference differs from the dense convolution by \(difference): serving would answer wrongly here")
        }
    }
}
