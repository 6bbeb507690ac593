import Foundation
import Testing
import LumenTensor
@testable import LumenNN

/// Parameter names and shapes equal torchvision's, so checkpoints move both ways.
@Suite(.serialized) struct StateDictTests {
    static func build(_ name: String) throws -> any Module {
        switch name {
        case "resnet18": return try ResNet(.resnet18)
        case "resnet34": return try ResNet(.resnet34)
        case "resnet50": return try ResNet(.resnet50)
        case "vgg16": return try VGG(batchNorm: false)
        case "vgg16_bn": return try VGG(batchNorm: true)
        default: fatalError("unknown model \(name)")
        }
    }

    /// Every model of the reference list is checked below.
    @Test func everyReferenceModelIsTested() throws {
        #expect(Set(try Fixtures.stateDictKeys().keys) == ["resnet18", "resnet34", "resnet50", "vgg16", "vgg16_bn"])
    }

    @Test(arguments: ["resnet18", "resnet34", "resnet50", "vgg16", "vgg16_bn"])
    func keysAndShapesEqualTorchvision(_ name: String) throws {
        let reference = try #require(try Fixtures.stateDictKeys()[name])
        let model = try Self.build(name)
        let ours = model.stateEntries().map { ($0.0, $0.1.shape) }
        #expect(ours.map(\.0) == reference.map(\.0), "key order of \(name)")
        for ((k, s), (rk, rs)) in zip(ours, reference) where k == rk {
            #expect(s == rs, "\(name) \(k): \(s) vs torchvision \(rs)")
        }
    }

    @Test func resnet18ParameterCountMatchesTorchvision() throws {
        // torchvision.models.resnet18(): 11,689,512 parameters.
        #expect(try ResNet(.resnet18).parameterCount() == 11_689_512)
        // resnet50: 25,557,032.
        #expect(try ResNet(.resnet50).parameterCount() == 25_557_032)
    }

    @Test func checkpointRoundTripAndStrictLoading() throws {
        let a = try ResNet(.resnet18, inChannels: 1, numClasses: 3)
        let b = try ResNet(.resnet18, inChannels: 1, numClasses: 3)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-\(UUID()).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        a.eval(); b.eval()
        let x = try Tensor.randn([2, 1, 32, 32])
        try a.save(to: url)
        #expect(try maxDiff(a(x), b(x)) > 1e-4)
        let report = try b.load(from: url)
        #expect(report.missingKeys.isEmpty && report.unexpectedKeys.isEmpty)
        #expect(try maxDiff(a(x), b(x)) < 1e-6)

        var state = a.stateDict()
        state.removeValue(forKey: "fc.bias")
        state["extra.weight"] = try Tensor.zeros([1])
        #expect(throws: LumenError.self) { try b.load(stateDict: state, strict: true) }
        let lenient = try b.load(stateDict: state, strict: false)
        #expect(lenient.missingKeys == ["fc.bias"])
        #expect(lenient.unexpectedKeys == ["extra.weight"])

        let other = try ResNet(.resnet18, inChannels: 1, numClasses: 5)
        let error = #expect(throws: LumenError.self) { try other.load(stateDict: a.stateDict()) }
        #expect(error?.description.contains("size mismatch for fc.weight") == true)
        // From the file (read lazily, tensor by tensor): the same check happens before anything is written.
        let stem = try other.conv1.weight.floats()
        let fromFile = #expect(throws: LumenError.self) { try other.load(from: url) }
        #expect(fromFile?.description.contains("size mismatch for fc.weight") == true)
        #expect(try other.conv1.weight.floats() == stem, "nothing written")
    }

    @Test func batchNormCountsBatchesAndRestoresTheCount() throws {
        let bn = try BatchNorm2d(3)
        _ = try bn(Tensor.randn([4, 3, 2, 2]))
        _ = try bn(Tensor.randn([4, 3, 2, 2]))
        #expect(try bn.stateDict()["num_batches_tracked"]?.itemInt() == 2)
        #expect(try bn.runningMean!.abs().sum().item() > 0)
        let copy = try BatchNorm2d(3)
        try copy.load(stateDict: bn.stateDict())
        #expect(try copy.stateDict()["num_batches_tracked"]?.itemInt() == 2)
        bn.eval()
        let before = try bn.runningMean!.floats()
        _ = try bn(Tensor.randn([4, 3, 2, 2]))
        #expect(try bn.runningMean!.floats() == before)
    }
}

func maxDiff(_ a: Tensor, _ b: Tensor) throws -> Double {
    try (a - b).abs().max().item()
}
