import Foundation
import LumenData
import LumenImaging
import LumenNN
import LumenStore
import LumenTensor

/// What a training run reports as it goes.
public enum TrainingEvent: Sendable {
    case started(runID: String, trainSamples: Int, valSamples: Int, classes: [String])
    case batch(epoch: Int, batch: Int, batches: Int, loss: Double)
    case epoch(epoch: Int, metrics: [String: Double], best: Bool)
    case stoppedEarly(epoch: Int)
}

/// The result of a finished run.
public struct TrainingResult: Sendable {
    public var runID: String
    public var epochs: Int
    public var best: [String: Double]
    public var last: [String: Double]
    public var classes: [String]
    public var bestCheckpoint: String
    /// The model's input and output shapes as JSON (for the registry).
    public var signature: String
    /// The evaluation pipeline as JSON: what serving and evaluation apply to an image (for the registry).
    public var preprocessing: String
    /// The best checkpoint evaluated on the validation split (nil without one).
    public var validation: ClassificationReport?
    public var dataset: String
    public var trainImages: Int
}

/// Trains a classifier from an experiment config on a dataset version, logging everything to the store:
/// the config as parameters, the dataset version as lineage, per-step and per-epoch metrics, system
/// information as tags, and the best and last checkpoints as artifacts.
public struct Trainer {
    public let config: ExperimentConfig
    public let workspace: Workspace
    public let store: any Store

    public init(config: ExperimentConfig, workspace: Workspace, store: any Store) {
        self.config = config
        self.workspace = workspace
        self.store = store
    }

    public func run(events: (TrainingEvent) -> Void = { _ in }) async throws -> TrainingResult {
        let repository = DatasetRepository(workspace: workspace)
        var version = try repository.resolve(config.dataset)
        if let threshold = config.labelThreshold {
            for i in version.entries.indices {
                guard let text = version.entries[i].label, let value = Double(text) else {
                    throw TrainingError.data("\(version.entries[i].path): label '\(version.entries[i].label ?? "")' is not a number, so data.label_threshold cannot apply")
                }
                version.entries[i].label = value >= threshold ? "1" : "0"
            }
        }
        let classes = version.classes
        guard classes.count >= 2 else { throw TrainingError.data("\(version.reference) has \(classes.count) class(es); classification needs at least 2") }
        let trainEntries = version.entries(in: config.trainSplit)
        guard !trainEntries.isEmpty else {
            throw TrainingError.data("\(version.reference) has no '\(config.trainSplit)' split: assign one with `lumen data split \(version.name)`")
        }
        var valSplit: String? = config.valSplit
        if version.entries(in: valSplit).isEmpty { valSplit = version.entries(in: "test").isEmpty ? nil : "test" }

        // The first tensor op installs the default thread count once per process; do it before choosing ours.
        _ = try Tensor.zeros([1])
        if config.threads > 0 { Runtime.threads = config.threads }
        Runtime.manualSeed(config.seed)
        let pipelines = try makePipelines()
        var options = LoaderOptions()
        options.batchSize = config.batchSize
        options.seed = config.seed
        options.workers = config.workers
        options.balanced = config.balanced
        options.cache = config.cache
        let trainLoader = try DataLoader(version: version, split: config.trainSplit, repository: repository, pipeline: pipelines.train, options: options, classes: classes)
        var evalOptions = options
        evalOptions.shuffle = false
        evalOptions.balanced = false
        let valLoader = try valSplit.map { try DataLoader(version: version, split: $0, repository: repository, pipeline: pipelines.eval, options: evalOptions, classes: classes) }

        let model = try makeModel(classes: classes.count)
        let optimizer = try makeOptimizer(model)
        let stepsPerEpoch = max(1, trainLoader.count / config.accumulate)
        let scheduler = try makeSchedule(optimizer, totalSteps: stepsPerEpoch * config.epochs)
        let loss = CrossEntropyLoss(classWeights: config.classWeights ? classWeights(trainEntries, classes) : nil)

        // Tracking.
        let experiment: Experiment
        if let existing = try await store.experiment(named: config.experiment) { experiment = existing } else {
            experiment = try await store.createExperiment(name: config.experiment, artifactLocation: nil, tags: [:])
        }
        var tags = ["lumen.dataset": version.reference, "lumen.model": config.model, "lumen.libtorch": Runtime.libtorchVersion,
                    "lumen.threads": String(Runtime.threads), "lumen.cpu": cpuModel(), "mlflow.source.type": "LOCAL", "lumen.classes": classes.joined(separator: ",")]
        if let commit = gitCommit() { tags["mlflow.source.git.commit"] = commit }
        let run = try await store.createRun(experimentID: experiment.id, name: config.runName, startTime: nil, tags: tags, parentRunID: nil)
        let runID = run.info.runID
        do {
            let params = config.tree.effectiveValues().map { Param(key: $0.0, value: String($0.1.prefix(6000))) }
            for chunk in stride(from: 0, to: params.count, by: 100) {
                try await store.logBatch(runID: runID, metrics: [], params: Array(params[chunk..<min(chunk + 100, params.count)]), tags: [])
            }
            try await store.linkDatasets(runID: runID, [DatasetUse(dataset: version.name, version: version.id, context: "training")])
            events(.started(runID: runID, trainSamples: trainLoader.entries.count, valSamples: valLoader?.entries.count ?? 0, classes: classes))

            let artifacts = ArtifactStore(root: workspace.artifactRoot)
            let artifactPrefix = "\(experiment.id)/\(runID)/artifacts"
            let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lumen-train-\(runID)")
            try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: scratch) }

            var bestValue: Double?
            var bestMetrics: [String: Double] = [:]
            var lastMetrics: [String: Double] = [:]
            var sinceBest = 0
            var globalStep: Int64 = 0
            var epochsRun = 0
            if config.freezeBackboneEpochs > 0, let classifier = model as? any Classifier { try classifier.freezeBackbone() }
            for epoch in 0..<config.epochs {
                if epoch == config.freezeBackboneEpochs, config.freezeBackboneEpochs > 0 { try model.unfreeze() }
                model.train()
                var sum = 0.0, seen = 0, correct = 0
                let epochStart = Date()
                let batches = trainLoader.epoch(epoch)
                var b = 0
                try optimizer.zeroGrad()
                while let batch = try batches.nextBatch() {
                    guard let targets = batch.targets else { throw TrainingError.data("a training batch has unlabelled images") }
                    let logits = try model(batch.images)
                    let value = try loss(logits, targets)
                    try (value / Double(config.accumulate)).backward()
                    b += 1
                    if b % config.accumulate == 0 || b == trainLoader.count {
                        try optimizer.step()
                        try optimizer.zeroGrad()
                        if let scheduler { _ = try scheduler.step() }
                        globalStep += 1
                    }
                    let l = try value.item()
                    let n = batch.images.shape[0]
                    sum += l * Double(n)
                    seen += n
                    correct += zip(try logits.argmax(dim: 1).int64s(), try targets.int64s()).filter { $0 == $1 }.count
                    if b % 10 == 0 || b == trainLoader.count {
                        try await store.logMetric(runID: runID, key: "train_loss_step", value: l, step: globalStep)
                    }
                    events(.batch(epoch: epoch, batch: b, batches: trainLoader.count, loss: l))
                }
                let seconds = Date().timeIntervalSince(epochStart)
                var metrics: [String: Double] = ["train_loss": sum / Double(max(seen, 1)), "train_accuracy": Double(correct) / Double(max(seen, 1)),
                                                 "lr": optimizer.learningRate(), "epoch_seconds": seconds, "train_images_per_s": Double(seen) / max(seconds, 1e-9)]
                if let valLoader {
                    let v = try evaluate(model, valLoader, loss: loss)
                    metrics["val_loss"] = v.loss
                    metrics["val_accuracy"] = ClassificationMetrics.accuracy(probabilities: v.probabilities, labels: v.labels)
                    metrics["val_auc"] = ClassificationMetrics.auc(probabilities: v.probabilities, labels: v.labels)
                }
                try await store.logBatch(runID: runID, metrics: metrics.map { Metric(key: $0.key, value: $0.value, timestamp: Clock.nowMillis(), step: Int64(epoch)) }, params: [], tags: [])
                lastMetrics = metrics
                epochsRun = epoch + 1
                let watched = metrics[config.monitor] ?? metrics["train_loss"]!
                let improved = bestValue.map { config.monitorMode == "min" ? watched < $0 : watched > $0 } ?? true
                let lastFile = scratch.appendingPathComponent("last.safetensors")
                try model.save(to: lastFile, metadata: ["epoch": String(epoch), "classes": classes.joined(separator: ",")])
                try await record(lastFile, as: "\(artifactPrefix)/checkpoints/last.safetensors", artifacts)
                if improved && !watched.isNaN {
                    bestValue = watched
                    bestMetrics = metrics
                    sinceBest = 0
                    try await record(lastFile, as: "\(artifactPrefix)/checkpoints/best.safetensors", artifacts)
                } else {
                    sinceBest += 1
                }
                events(.epoch(epoch: epoch, metrics: metrics, best: improved))
                if config.patience > 0 && sinceBest >= config.patience {
                    events(.stoppedEarly(epoch: epoch))
                    break
                }
            }
            try await store.logBatch(runID: runID, metrics: bestMetrics.map { Metric(key: "best_" + $0.key, value: $0.value, timestamp: Clock.nowMillis(), step: 0) }, params: [], tags: [])
            _ = try await store.updateRun(id: runID, status: .finished, endTime: Clock.nowMillis(), name: nil)
            // The best checkpoint on the validation split, for the model card's figures and intervals.
            var validation: ClassificationReport?
            if let valLoader, let best = try await store.artifact(path: "\(artifactPrefix)/checkpoints/best.safetensors"), let sha = best.sha256 {
                _ = try model.load(from: artifacts.url(for: sha), strict: true)
                let v = try evaluate(model, valLoader, loss: loss)
                let predictions = zip(v.probabilities, v.labels).enumerated().map { Prediction(path: valLoader.entries[$0.offset].path, label: $0.element.1, probabilities: $0.element.0) }
                validation = ClassificationReport(classes: classes, predictions: predictions, bootstrap: 1000, seed: config.seed)
            }
            let signature = "{\"inputs\": {\"shape\": [-1, \(config.channels), \(config.imageSize), \(config.imageSize)], \"dtype\": \"float32\"}, \"outputs\": {\"shape\": [-1, \(classes.count)], \"classes\": [\(classes.map { "\"\($0)\"" }.joined(separator: ", "))]}}"
            let preprocessing = String(decoding: try JSONEncoder().encode(pipelines.eval), as: UTF8.self)
            return TrainingResult(runID: runID, epochs: epochsRun, best: bestMetrics, last: lastMetrics, classes: classes,
                                  bestCheckpoint: "\(artifactPrefix)/checkpoints/best.safetensors", signature: signature, preprocessing: preprocessing,
                                  validation: validation, dataset: version.reference, trainImages: trainLoader.entries.count)
        } catch {
            _ = try? await store.updateRun(id: runID, status: .failed, endTime: Clock.nowMillis(), name: nil)
            throw error
        }
    }

    struct Evaluation { var loss: Double; var probabilities: [[Double]]; var labels: [Int] }

    func evaluate(_ model: any Module, _ loader: DataLoader, loss: CrossEntropyLoss) throws -> Evaluation {
        model.eval()
        var total = 0.0, n = 0
        var probabilities: [[Double]] = [], labels: [Int] = []
        let batches = loader.epoch(0)
        while let batch = try batches.nextBatch() {
            guard let targets = batch.targets else { continue }
            let (l, p) = try withNoGrad { () throws(LumenError) -> (Double, [Double]) in
                let logits = try model(batch.images)
                return (try loss(logits, targets).item(), try logits.softmax(dim: 1).doubles())
            }
            let k = p.count / batch.images.shape[0]
            for i in 0..<batch.images.shape[0] { probabilities.append(Array(p[i * k..<(i + 1) * k])) }
            labels += try targets.int64s().map(Int.init)
            total += l * Double(batch.images.shape[0])
            n += batch.images.shape[0]
        }
        return Evaluation(loss: total / Double(max(n, 1)), probabilities: probabilities, labels: labels)
    }

    func record(_ file: URL, as path: String, _ artifacts: ArtifactStore) async throws {
        let data = try Data(contentsOf: file)
        let (sha, size) = try artifacts.put(data)
        try await store.recordArtifact(path: path, sha256: sha, size: size)
    }

    /// Training and evaluation pipelines from the config; evaluation is training without its random steps.
    public func makePipelines() throws -> (train: Pipeline, eval: Pipeline) {
        var steps: [Transform] = [.resize(width: config.imageSize, height: config.imageSize)]
        if let window = config.window { let w = try WindowPreset.parse(window); steps.append(.window(center: w.center, width: w.width)) }
        steps.append(.channels(config.channels))
        for a in config.augment {
            switch a {
            case "flip": steps.append(.horizontalFlip(p: 0.5))
            case "vflip": steps.append(.verticalFlip(p: 0.5))
            case "rotate": steps.append(.rotate(degrees: 10, p: 0.5))
            case "affine": steps.append(.affine(degrees: 10, translate: 0.05, scaleMin: 0.9, scaleMax: 1.1, shear: 5, p: 0.5))
            case "elastic": steps.append(.elastic(alpha: Double(config.imageSize) / 32, sigma: Double(config.imageSize) / 16, p: 0.3))
            case "brightness": steps.append(.brightness(delta: 0.1, p: 0.5))
            case "contrast": steps.append(.contrast(min: 0.8, max: 1.2, p: 0.5))
            case "noise": steps.append(.gaussianNoise(std: 0.02, p: 0.3))
            default: steps.append(.gaussianBlur(sigmaMin: 0.1, sigmaMax: 1.0, p: 0.3))
            }
        }
        switch config.normalize {
        case "minmax": steps.append(.normalize(.minMax))
        case "zscore": steps.append(.normalize(.zscore))
        default: break
        }
        let train = Pipeline(steps)
        return (train, train.deterministic)
    }

    func makeModel(classes: Int) throws -> any Module {
        let c = config.channels
        let model: any Module
        switch config.model {
        case "simple-cnn": model = try SimpleCNN(inChannels: c, numClasses: classes)
        case "resnet34": model = try ResNet(.resnet34, inChannels: c, numClasses: classes)
        case "resnet50": model = try ResNet(.resnet50, inChannels: c, numClasses: classes)
        case "vgg16": model = try VGG(batchNorm: false, inChannels: c, numClasses: classes)
        case "vgg16-bn": model = try VGG(batchNorm: true, inChannels: c, numClasses: classes)
        default: model = try ResNet(.resnet18, inChannels: c, numClasses: classes)
        }
        if let pretrained = config.pretrained {
            // torchvision key names; the head (another class count) keeps its fresh initialisation.
            var weights = try Safetensors.load(URL(fileURLWithPath: pretrained))
            if let head = (model as? any Classifier)?.headPrefix { weights = weights.filter { !$0.key.hasPrefix(head + ".") } }
            let report = try model.load(stateDict: weights, strict: false)
            if report.missingKeys.count >= model.stateEntries().count {
                throw TrainingError.config(path: "model.pretrained", reason: "\(pretrained) has no weights whose names fit \(config.model)")
            }
        }
        return model
    }

    func makeOptimizer(_ model: any Module) throws -> Optimizer {
        let parameters = model.parameters()
        switch config.optimizer {
        case "sgd": return try SGD(parameters, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay)
        case "adam": return try Adam(parameters, lr: config.lr, weightDecay: config.weightDecay)
        default: return try AdamW(parameters, lr: config.lr, weightDecay: config.weightDecay)
        }
    }

    func makeSchedule(_ optimizer: Optimizer, totalSteps: Int) throws -> LRScheduler? {
        switch config.schedule {
        case "cosine": return try LRScheduler(optimizer, schedule: CosineAnnealingLR(tMax: totalSteps))
        case "step": return try LRScheduler(optimizer, schedule: StepLR(stepSize: max(1, totalSteps / 3)))
        case "onecycle": return try LRScheduler(optimizer, schedule: OneCycleLR(maxLR: config.lr, totalSteps: totalSteps))
        default: return nil
        }
    }

    func classWeights(_ entries: [DatasetEntry], _ classes: [String]) -> [Double] {
        let counts = classes.map { c in Double(entries.filter { $0.label == c }.count) }
        let total = counts.reduce(0, +)
        return counts.map { $0 > 0 ? total / (Double(classes.count) * $0) : 0 }
    }

    func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "unknown" }
        return text.split(separator: "\n").first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":", maxSplits: 1).last ?? "").trimmingCharacters(in: .whitespaces) } ?? "unknown"
    }

    func gitCommit() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = ["rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return process.terminationStatus == 0 && out.count == 40 ? out : nil
    }
}
