import Foundation
import Testing
import LumenTensor
@testable import LumenNN

/// Learning rates over 100 steps equal PyTorch's `lr_scheduler` values (base 0.1).
@Suite struct ScheduleTests {
    struct Reference: Decodable {
        let plateau_metric: [Double]
        let schedules: [String: [Double]]
    }

    static func reference() throws -> Reference {
        try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Fixtures.reference.appendingPathComponent("schedules.json")))
    }

    static let closedForm: [String: any LRSchedule] = [
        "step(step_size=30,gamma=0.1)": StepLR(stepSize: 30, gamma: 0.1),
        "multistep(milestones=[20,50,80],gamma=0.5)": MultiStepLR(milestones: [20, 50, 80], gamma: 0.5),
        "cosine(T_max=100,eta_min=0.001)": CosineAnnealingLR(tMax: 100, etaMin: 0.001),
        "linear_warmup(10,start_factor=0.1)+cosine(T_max=90)": WarmupCosineLR(warmupSteps: 10, startFactor: 0.1, cosineSteps: 90),
        "onecycle(max_lr=0.1,total_steps=101)": OneCycleLR(maxLR: 0.1, totalSteps: 101),
    ]

    @Test(arguments: Array(closedForm.keys).sorted())
    func closedFormMatchesPyTorch(_ name: String) throws {
        let expected = try #require(try Self.reference().schedules[name])
        let param = try Tensor.zeros([1]).requiringGrad()
        let optimizer = try SGD([param], lr: 0.1)
        let scheduler = try LRScheduler(optimizer, schedule: Self.closedForm[name]!)
        for (i, value) in expected.enumerated() {
            let lr = try scheduler.step()
            #expect(Swift.abs(lr - value) < 1e-12 + 1e-9 * value, "\(name) step \(i + 1): \(lr) vs \(value)")
        }
    }

    /// No reference schedule drops out of the parity tests unnoticed.
    @Test func everyReferenceScheduleIsTested() throws {
        #expect(Set(try Self.reference().schedules.keys) == Set(Self.closedForm.keys).union(["reduce_on_plateau(mode=min,factor=0.5,patience=5)"]))
    }

    @Test func reduceOnPlateauMatchesPyTorch() throws {
        let ref = try Self.reference()
        let expected = try #require(ref.schedules["reduce_on_plateau(mode=min,factor=0.5,patience=5)"])
        let param = try Tensor.zeros([1]).requiringGrad()
        let optimizer = try SGD([param], lr: 0.1)
        let plateau = ReduceLROnPlateau(optimizer, mode: .min, factor: 0.5, patience: 5)
        #expect(ref.plateau_metric.count == expected.count && !expected.isEmpty, "every reference step is compared")
        for (metric, value) in zip(ref.plateau_metric, expected) {
            try plateau.step(metric: metric)
            #expect(Swift.abs(optimizer.learningRate - value) < 1e-15, "\(optimizer.learningRate) vs \(value)")
        }
    }

    @Test func schedulesScaleEachGroupFromItsOwnBase() throws {
        let a = try Tensor.zeros([1]).requiringGrad(), b = try Tensor.zeros([1]).requiringGrad()
        let optimizer = try SGD([ParameterGroup([a], learningRate: 0.1), ParameterGroup([b], learningRate: 0.01)], lr: 0.1)
        let scheduler = try LRScheduler(optimizer, schedule: StepLR(stepSize: 1, gamma: 0.5))
        try scheduler.step()
        #expect(Swift.abs(optimizer.learningRate(group: 0) - 0.05) < 1e-15)
        #expect(Swift.abs(optimizer.learningRate(group: 1) - 0.005) < 1e-15)
    }
}
