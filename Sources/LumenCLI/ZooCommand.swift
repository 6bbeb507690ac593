import ArgumentParser
import Foundation
import LumenNN
import LumenTensor

/// `lumen zoo`: the architectures Lumen builds; write fresh weights, or check a checkpoint against one.
struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zoo",
        abstract: "The model architectures: list them, write initial weights, check a checkpoint.",
        subcommands: [List.self, Init.self, Check.self],
        defaultSubcommand: List.self)

    /// Architecture options shared by the subcommands.
    struct Architecture: ParsableArguments {
        @Option(name: .long, help: "Input channels (1 for grey-scale X-ray/CT, 3 for RGB).")
        var inChannels = 1

        @Option(name: .long, help: "Number of output classes.")
        var numClasses = 2

        func validate() throws {
            guard inChannels > 0, numClasses > 0 else { throw ValidationError("--in-channels and --num-classes must be positive") }
        }
    }

    static let names = ["simple-cnn", "resnet18", "resnet34", "resnet50", "vgg16", "vgg16-bn", "unet"]

    static func build(_ name: String, _ a: Architecture) throws -> any Module {
        switch name.lowercased().replacingOccurrences(of: "_", with: "-") {
        case "simple-cnn": return try SimpleCNN(inChannels: a.inChannels, numClasses: a.numClasses)
        case "resnet18": return try ResNet(.resnet18, inChannels: a.inChannels, numClasses: a.numClasses)
        case "resnet34": return try ResNet(.resnet34, inChannels: a.inChannels, numClasses: a.numClasses)
        case "resnet50": return try ResNet(.resnet50, inChannels: a.inChannels, numClasses: a.numClasses)
        case "vgg16": return try VGG(batchNorm: false, inChannels: a.inChannels, numClasses: a.numClasses)
        case "vgg16-bn": return try VGG(batchNorm: true, inChannels: a.inChannels, numClasses: a.numClasses)
        case "unet": return try UNet(inChannels: a.inChannels, numClasses: a.numClasses)
        default: throw ValidationError("unknown architecture '\(name)'; one of: \(names.joined(separator: ", "))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the architectures with their parameter counts.")
        @OptionGroup var architecture: Architecture

        func run() throws {
            print("model        task             parameters  (in_channels=\(architecture.inChannels), classes=\(architecture.numClasses))")
            for name in ZooCommand.names {
                let count = try ZooCommand.build(name, architecture).parameterCount()
                let task = name == "unet" ? "segmentation" : "classification"
                print(name.padding(toLength: 13, withPad: " ", startingAt: 0) + task.padding(toLength: 16, withPad: " ", startingAt: 0)
                      + String(count).leftPadded(11))
            }
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write freshly initialised weights as a safetensors state dict (PyTorch key names).")
        @Argument(help: "Architecture: \(ZooCommand.names.joined(separator: ", ")).") var arch: String
        @OptionGroup var architecture: Architecture
        @Option(name: .long, help: "Output .safetensors file.") var out: String
        @Option(name: .long, help: "Random seed.") var seed: UInt64 = 0

        func run() throws {
            Runtime.manualSeed(seed)
            let model = try ZooCommand.build(arch, architecture)
            try model.save(to: URL(fileURLWithPath: out), metadata: ["format": "pt", "architecture": arch])
            print("wrote \(model.stateEntries().count) tensors (\(model.parameterCount()) parameters) to \(out)")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load a safetensors checkpoint into an architecture (strict) and optionally run it on an input.")
        @Argument(help: "Architecture: \(ZooCommand.names.joined(separator: ", ")).") var arch: String
        @Argument(help: "Checkpoint (.safetensors state dict).") var checkpoint: String
        @OptionGroup var architecture: Architecture
        @Flag(name: .long, help: "Allow missing and unexpected keys (shapes must still match).") var lenient = false
        @Option(name: .long, help: "A .safetensors file whose tensor 'input' (N, C, H, W) is run through the model in eval mode.")
        var input: String?
        @Option(name: .long, help: "Where to write the output as tensor 'output' (needs --input).") var output: String?

        func run() throws {
            let model = try ZooCommand.build(arch, architecture)
            let report = try model.load(from: URL(fileURLWithPath: checkpoint), strict: !lenient)
            print("\(checkpoint): \(report)")
            guard let input else { return }
            guard let x = try Safetensors.load(URL(fileURLWithPath: input))["input"] else {
                throw ValidationError("\(input) has no tensor named 'input'")
            }
            model.eval()
            let y = try withNoGrad { try model(x.to(.float32)) }
            print("output shape \(y.shape)")
            if let output { try Safetensors.save(["output": y], to: URL(fileURLWithPath: output)) }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
