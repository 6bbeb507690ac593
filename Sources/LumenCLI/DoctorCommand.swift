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
        print("ok")
    }
}
