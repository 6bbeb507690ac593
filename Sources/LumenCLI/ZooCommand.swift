import ArgumentParser
import LumenNN
import LumenTensor

/// `lumen zoo`: the architectures Lumen builds, with parameter counts for a given input and class count.
struct ZooCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "zoo", abstract: "List the model architectures with their parameter counts.")

    @Option(name: .long, help: "Input channels (1 for grey-scale X-ray/CT, 3 for RGB).")
    var inChannels = 1

    @Option(name: .long, help: "Number of output classes.")
    var numClasses = 2

    func validate() throws {
        guard inChannels > 0, numClasses > 0 else { throw ValidationError("--in-channels and --num-classes must be positive") }
    }

    func run() throws {
        let entries: [(String, String, () throws -> any Module)] = [
            ("simple-cnn", "classification", { try SimpleCNN(inChannels: inChannels, numClasses: numClasses) }),
            ("resnet18", "classification", { try ResNet(.resnet18, inChannels: inChannels, numClasses: numClasses) }),
            ("resnet34", "classification", { try ResNet(.resnet34, inChannels: inChannels, numClasses: numClasses) }),
            ("resnet50", "classification", { try ResNet(.resnet50, inChannels: inChannels, numClasses: numClasses) }),
            ("vgg16", "classification", { try VGG(batchNorm: false, inChannels: inChannels, numClasses: numClasses) }),
            ("vgg16-bn", "classification", { try VGG(batchNorm: true, inChannels: inChannels, numClasses: numClasses) }),
            ("unet", "segmentation", { try UNet(inChannels: inChannels, numClasses: numClasses) }),
        ]
        print("model        task             parameters  (in_channels=\(inChannels), classes=\(numClasses))")
        for (name, task, make) in entries {
            let count = try make().parameterCount()
            print(name.padding(toLength: 13, withPad: " ", startingAt: 0) + task.padding(toLength: 16, withPad: " ", startingAt: 0)
                  + String(count).leftPadded(11))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
