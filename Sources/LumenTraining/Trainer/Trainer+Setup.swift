import Foundation
import LumenData
import LumenImaging
import LumenInference
import LumenNN
import LumenTensor
import LumenWorkspace

/// What a run trains on, decided from the config and the dataset version before any tensor is made.
struct TrainingData {
    var version: DatasetVersion
    var task: ModelTask
    var classes: [String]
    /// Binary classification: the index of the finding (1 otherwise).
    var positive: Int
    var trainEntries: [DatasetEntry]
    /// The split validated on each epoch (nil: none).
    var valSplit: String?
}

extension Trainer {
    /// Resolves the dataset, applies `data.label_threshold`, decides the task and the classes, and checks
    /// that the config fits the data (every problem names its key or file).
    func prepareData(repository: DatasetRepository) throws -> TrainingData {
        var version = try repository.resolve(config.dataset)
        if let threshold = config.labelThreshold {
            for i in version.entries.indices {
                guard let text = version.entries[i].label, let value = Double(text) else {
                    throw TrainingError.data("\(version.entries[i].path): label '\(version.entries[i].label ?? "")' is not a number, so data.label_threshold cannot apply")
                }
                version.entries[i].label = value >= threshold ? "1" : "0"
            }
        }
        let task: ModelTask
        switch config.task {
        case .segmentation: task = .segmentation
        case .multiLabel: task = .multiLabel
        case .classification: task = .classification
        case .auto:
            task = version.task == .segmentation ? .segmentation : (version.entries.contains { $0.labels.count > 1 } ? .multiLabel : .classification)
        }
        guard config.loss.resolved(for: task) != nil else {
            throw TrainingError.config(path: "trainer.loss", reason: "\(config.loss.rawValue) does not fit \(task.rawValue) (use auto)")
        }
        let classes: [String]
        switch task {
        case .segmentation:
            guard config.model == .unet else {
                throw TrainingError.config(path: "model.name", reason: "\(version.reference) is a segmentation dataset: set model.name: unet (\(config.model.rawValue) classifies)")
            }
            if let unmasked = version.entries(in: config.trainSplit).first(where: { $0.maskSHA256 == nil }) {
                throw TrainingError.data("\(unmasked.path) has no mask: segmentation needs a mask for every training image (lumen data import IMAGES --masks MASKS)")
            }
            classes = (0..<config.maskClasses).map { $0 == 0 ? "background" : (config.maskClasses == 2 ? "foreground" : "class\($0)") }
        case .classification, .multiLabel:
            guard config.model != .unet else { throw TrainingError.config(path: "model.name", reason: "unet segments, and \(version.reference) has no masks") }
            classes = version.classes
            guard classes.count >= (task == .multiLabel ? 1 : 2) else { throw TrainingError.data("\(version.reference) has \(classes.count) class(es); classification needs at least 2") }
        }
        if config.positiveClass != nil && task != .classification {
            throw TrainingError.config(path: "data.positive_class", reason: "applies to binary classification, not to \(task.rawValue)")
        }
        let positive = task == .classification ? try Self.positiveIndex(config.positiveClass, classes: classes, option: "data.positive_class") : 1
        let trainEntries = version.entries(in: config.trainSplit)
        guard !trainEntries.isEmpty else {
            throw TrainingError.data("\(version.reference) has no '\(config.trainSplit)' split: assign one with `lumen data split \(version.name)`")
        }
        var valSplit: String? = config.valSplit
        if version.entries(in: valSplit).isEmpty { valSplit = version.entries(in: "test").isEmpty ? nil : "test" }
        return TrainingData(version: version, task: task, classes: classes, positive: positive, trainEntries: trainEntries, valSplit: valSplit)
    }

    /// The model spec of what this config trains on `data` (the checkpoint is filled in when it exists).
    func modelSpec(_ data: TrainingData, preprocessing: Pipeline, checkpoint: ModelSpec.Checkpoint) -> ModelSpec {
        ModelSpec(task: data.task, architecture: config.architecture, inputChannels: config.channels, inputHeight: config.imageSize,
                  inputWidth: config.imageSize, classes: data.classes, positiveClass: data.task == .classification && data.classes.count == 2 ? data.classes[data.positive] : nil,
                  labelThreshold: config.labelThreshold, preprocessing: preprocessing, checkpoint: checkpoint,
                  libtorchVersion: Runtime.libtorchVersion, lumenVersion: LumenRelease.version)
    }

    /// Training and evaluation pipelines from the config; evaluation is training without its random steps.
    public func makePipelines() throws -> (train: Pipeline, eval: Pipeline) {
        var steps: [Transform] = [.resize(width: config.imageSize, height: config.imageSize)]
        if let window = config.window { let w = try WindowPreset.parse(window); steps.append(.window(center: w.center, width: w.width)) }
        steps.append(.channels(config.channels))
        for a in config.augment {
            switch a {
            case .flip: steps.append(.horizontalFlip(p: 0.5))
            case .vflip: steps.append(.verticalFlip(p: 0.5))
            case .rotate: steps.append(.rotate(degrees: 10, p: 0.5))
            case .affine: steps.append(.affine(degrees: 10, translate: 0.05, scaleMin: 0.9, scaleMax: 1.1, shear: 5, p: 0.5))
            case .elastic: steps.append(.elastic(alpha: Double(config.imageSize) / 32, sigma: Double(config.imageSize) / 16, p: 0.3))
            case .brightness: steps.append(.brightness(delta: 0.1, p: 0.5))
            case .contrast: steps.append(.contrast(min: 0.8, max: 1.2, p: 0.5))
            case .noise: steps.append(.gaussianNoise(std: 0.02, p: 0.3))
            case .blur: steps.append(.gaussianBlur(sigmaMin: 0.1, sigmaMax: 1.0, p: 0.3))
            }
        }
        switch config.normalize {
        case .minmax: steps.append(.normalize(.minMax))
        case .zscore: steps.append(.normalize(.zscore))
        case .none: break
        }
        let train = Pipeline(steps)
        return (train, train.deterministic)
    }

    /// A fresh network of the config's architecture, with `model.pretrained` weights when given.
    func makeModel(classes: Int) throws -> any Module {
        let model = try config.architecture.makeNetwork(inChannels: config.channels, outputs: classes)
        if let pretrained = config.pretrained { try loadPretrained(pretrained, into: model) }
        return model
    }

    /// torchvision key names; the head (another class count) keeps its fresh initialisation.
    func loadPretrained(_ pretrained: String, into model: any Module) throws {
        var weights = try Safetensors.load(URL(fileURLWithPath: pretrained))
        if let head = (model as? any Classifier)?.headPrefix { weights = weights.filter { !$0.key.hasPrefix(head + ".") } }
        // ImageNet weights on grey images (or grey weights on colour ones): the stem's filters are summed over
        // RGB (or shared out over it), as timm's `adapt_input_conv` does, so that a grey image that repeats one
        // plane three times gives the same first activations.
        let own = Dictionary(model.stateEntries(), uniquingKeysWith: { a, _ in a })
        for (name, w) in weights where w.rank == 4 {
            guard let target = own[name], target.rank == 4, target.shape[0] == w.shape[0], Array(target.shape[2...]) == Array(w.shape[2...]) else { continue }
            if w.shape[1] == 3 && target.shape[1] == 1 {
                weights[name] = try w.sum(dims: [1], keepDim: true)
            } else if w.shape[1] == 1 && target.shape[1] == 3 {
                weights[name] = try (w / 3).expand(target.shape).contiguous()
            }
        }
        let report = try model.load(stateDict: weights, strict: false)
        if report.missingKeys.count >= model.stateEntries().count {
            throw TrainingError.config(path: "model.pretrained", reason: "\(pretrained) has no weights whose names fit \(config.model.rawValue)")
        }
    }

    /// Class names that mean "no finding": never the positive class by default.
    static let negativeNames: Set<String> = ["normal", "negative", "healthy", "no finding", "no_finding", "no-finding", "nofinding",
                                              "benign", "0", "none", "absent", "no", "false", "control"]

    /// The index of the positive class (the finding) of a binary task: `name` when given (it must be one of
    /// `classes`); otherwise the class that is not named like a negative finding. When that cannot be told
    /// (neither or both look negative), a binary task needs the positive class named, and this says so.
    /// Tasks with more than two classes have no positive class (1 is returned, unused).
    static func positiveIndex(_ name: String?, classes: [String], option: String) throws -> Int {
        func refuse(_ reason: String, _ value: String) -> TrainingError { option.hasPrefix("--") ? .data("\(option) \(value): \(reason)") : .config(path: option, reason: reason) }
        guard let name else {
            guard classes.count == 2 else { return 1 }
            let negative = classes.map { negativeNames.contains($0.lowercased().trimmingCharacters(in: .whitespaces)) }
            if negative == [true, false] { return 1 }
            if negative == [false, true] { return 0 }
            throw refuse("which of \(classes.joined(separator: " and ")) is the finding cannot be told from the names: set data.positive_class (or pass --positive CLASS to lumen evaluate)", "")
        }
        guard let index = classes.firstIndex(of: name) else { throw refuse("'\(name)' is not a class of this model (classes: \(classes.joined(separator: ", ")))", name) }
        guard classes.count == 2 else { throw refuse("a positive class applies to binary tasks; this one has \(classes.count) classes", name) }
        return index
    }

    /// One parameter group, or two when fine-tuning a classifier: the new head at `trainer.lr` (group 0)
    /// and the backbone at `trainer.lr × model.backbone_lr_factor` (group 1), as `param_groups` in PyTorch.
    func makeOptimizer(_ model: any Module) throws -> Optimizer {
        let groups: [ParameterGroup]
        if let classifier = model as? any Classifier, fineTuning, config.backboneLRFactor != 1 {
            let named = model.namedParameters()
            let isHead = { (name: String) in name.hasPrefix(classifier.headPrefix + ".") }
            groups = [ParameterGroup(named.filter { isHead($0.0) }.map(\.1)),
                      ParameterGroup(named.filter { !isHead($0.0) }.map(\.1), learningRate: config.lr * config.backboneLRFactor)]
        } else {
            groups = [ParameterGroup(model.parameters())]
        }
        switch config.optimizer {
        case .sgd: return try SGD(groups, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay)
        case .adam: return try Adam(groups, lr: config.lr, weightDecay: config.weightDecay)
        case .adamw: return try AdamW(groups, lr: config.lr, weightDecay: config.weightDecay)
        }
    }

    /// Whether the run fine-tunes a backbone (pretrained weights, or epochs with the backbone frozen).
    var fineTuning: Bool { config.pretrained != nil || config.freezeBackboneEpochs > 0 }

    func makeSchedule(_ optimizer: Optimizer, totalSteps: Int, stepCount: Int = 0) throws -> LRScheduler? {
        switch config.schedule {
        case .cosine: return try LRScheduler(optimizer, schedule: CosineAnnealingLR(tMax: totalSteps), stepCount: stepCount)
        case .step: return try LRScheduler(optimizer, schedule: StepLR(stepSize: max(1, totalSteps / 3)), stepCount: stepCount)
        case .onecycle:
            // One cycle per group, each peaking at its own rate (PyTorch's list of max_lr).
            let schedule: any LRSchedule = optimizer.groupCount > 1 ? ScaledSchedule(OneCycleLR(maxLR: 1, totalSteps: totalSteps)) : OneCycleLR(maxLR: config.lr, totalSteps: totalSteps)
            return try LRScheduler(optimizer, schedule: schedule, stepCount: stepCount)
        case .none: return nil
        }
    }

    /// The loss of `trainer.loss` for the task (auto: Dice+CE, BCE per finding, or cross-entropy).
    func makeLoss(_ data: TrainingData) throws -> any Loss {
        guard let kind = config.loss.resolved(for: data.task) else {
            throw TrainingError.config(path: "trainer.loss", reason: "\(config.loss.rawValue) does not fit \(data.task.rawValue)")
        }
        let weights = config.classWeights && data.task == .classification ? classWeights(data.trainEntries, data.classes) : nil
        switch kind {
        case .diceCE: return DiceCELoss(dice: DiceLoss(includeBackground: false))
        case .bce: return MultiLabelLoss()
        case .crossEntropy: return CrossEntropyLoss(classWeights: weights)
        case .focal: return FocalLoss(gamma: 2)
        case .auto: throw TrainingError.config(path: "trainer.loss", reason: "auto was not resolved for \(data.task.rawValue)")
        }
    }

    func classWeights(_ entries: [DatasetEntry], _ classes: [String]) -> [Double] {
        let counts = classes.map { c in Double(entries.filter { $0.label == c }.count) }
        let total = counts.reduce(0, +)
        return counts.map { $0 > 0 ? total / (Double(classes.count) * $0) : 0 }
    }
}

/// A schedule defined for a peak of 1, scaled by each group's base rate.
struct ScaledSchedule: LRSchedule {
    let unit: any LRSchedule
    init(_ unit: any LRSchedule) { self.unit = unit }
    func learningRate(afterSteps step: Int, base: Double) -> Double { base * unit.learningRate(afterSteps: step, base: 1) }
}

extension ExperimentConfig {
    /// The network `model.name` (with the U-Net's width and depth) names.
    public var architecture: Architecture { Architecture(model, unetWidth: unetWidth, unetDepth: unetDepth) }
}
