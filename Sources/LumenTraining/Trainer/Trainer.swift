import Foundation
import LumenData
import LumenImaging
import LumenNN
import LumenStore
import LumenTensor

/// What a training run reports as it goes.
public enum TrainingEvent: Sendable {
    case started(runID: String, trainSamples: Int, valSamples: Int, classes: [String])
    /// A stopped run continues from `epoch` (0-based) after `batch` batches of it.
    case resumed(epoch: Int, batch: Int)
    case batch(epoch: Int, batch: Int, batches: Int, loss: Double)
    case epoch(epoch: Int, metrics: [String: Double], best: Bool)
    case stoppedEarly(epoch: Int)
}

/// The result of a finished run (also kept as the run's `lumen/training_result.json` artifact, from
/// which `lumen models register RUN NAME` registers it later).
public struct TrainingResult: Sendable, Codable {
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
    /// The best checkpoint evaluated on the validation split (nil without one, or for segmentation).
    public var validation: ClassificationReport?
    /// Segmentation: the best checkpoint's Dice, IoU and HD95 on the validation split.
    public var segmentationValidation: SegmentationReport?
    /// Multi-label: the best checkpoint's per-label figures on the validation split.
    public var multiLabelValidation: MultiLabelReport?
    /// "classification", "multi-label" or "segmentation".
    public var task: String = "classification"
    public var dataset: String
    public var trainImages: Int

    /// Artifact paths (relative to a run's artifacts) where a run keeps what it was made from and what it made.
    public static let artifactPath = "lumen/training_result.json"
    public static let configArtifactPath = "lumen/config.json"

    /// JSON with NaN and infinities as strings (a metric of an empty class is NaN).
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }
}

/// Where a stopped run is, written after every epoch and when the run is interrupted: enough to
/// continue exactly (the loader's batches depend on seed, epoch and position only).
struct TrainingState: Codable {
    /// The epoch in progress, and how many of its batches are trained.
    var epoch = 0, batch = 0
    var globalStep: Int64 = 0
    var schedulerSteps = 0
    var bestValue: Double?
    var bestMetrics: [String: Double] = [:]
    var lastMetrics: [String: Double] = [:]
    var sinceBest = 0
    var epochsRun = 0
    /// The running sums of the epoch in progress.
    var sum = 0.0, seen = 0, correct = 0
    /// What `correct` counts out of: images (classification) or pixels (segmentation).
    var counted = 0
    var epochSeconds = 0.0
    /// libtorch's CPU generator (dropout masks) at the save.
    var rng: [UInt8]?
}

/// Trains a classifier from an experiment config on a dataset version, logging everything to the store:
/// the config as parameters, the dataset version as lineage, per-step and per-epoch metrics, system
/// information as tags, and the best and last checkpoints as artifacts. A run that was interrupted
/// (`shouldStop`, Ctrl-C in `lumen train`), failed or was killed continues with `resume`.
public struct Trainer {
    public let config: ExperimentConfig
    public let workspace: Workspace
    public let store: any Store
    /// Continue this run from its last checkpoint instead of starting a new one.
    public var resume: String?
    /// Make the run a child of this one (a sweep's trials).
    public var parentRunID: String?
    /// Asked after every optimizer step: true saves a checkpoint, marks the run KILLED and throws
    /// `TrainingError.interrupted`.
    public var shouldStop: @Sendable () -> Bool = { false }

    public init(config: ExperimentConfig, workspace: Workspace, store: any Store, resume: String? = nil, parentRunID: String? = nil) {
        self.config = config
        self.workspace = workspace
        self.store = store
        self.resume = resume
        self.parentRunID = parentRunID
    }

    /// The folder holding a run's resumable state (last model, optimizer, position, best model) until it finishes.
    public static func checkpointFolder(_ workspace: Workspace, runID: String) -> URL {
        workspace.folder.appendingPathComponent("checkpoints").appendingPathComponent(runID)
    }

    /// Trains, evaluates the best checkpoint on the validation split and records everything in the run.
    /// The work runs on `ComputeThread.shared` (one OpenMP team whatever the awaits in between).
    public func run(events: (TrainingEvent) -> Void = { _ in }) async throws -> TrainingResult {
        try await withTaskExecutorPreference(ComputeThread.shared) { try await train(events: events) }
    }

    private func train(events: (TrainingEvent) -> Void) async throws -> TrainingResult {
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
        let segmentation = config.task == "segmentation" || (config.task == "auto" && version.task == .segmentation)
        let multiLabel = !segmentation && (config.task == "multi-label" || (config.task == "auto" && version.entries.contains { $0.labels.count > 1 }))
        let task = segmentation ? "segmentation" : (multiLabel ? "multi-label" : "classification")
        let classes: [String]
        if segmentation {
            guard config.model == "unet" else {
                throw TrainingError.config(path: "model.name", reason: "\(version.reference) is a segmentation dataset: set model.name: unet (\(config.model) classifies)")
            }
            if let unmasked = version.entries(in: config.trainSplit).first(where: { $0.maskSHA256 == nil }) {
                throw TrainingError.data("\(unmasked.path) has no mask: segmentation needs a mask for every training image (lumen data import IMAGES --masks MASKS)")
            }
            classes = (0..<config.maskClasses).map { $0 == 0 ? "background" : (config.maskClasses == 2 ? "foreground" : "class\($0)") }
        } else {
            guard config.model != "unet" else { throw TrainingError.config(path: "model.name", reason: "unet segments, and \(version.reference) has no masks") }
            classes = version.classes
            guard classes.count >= (multiLabel ? 1 : 2) else { throw TrainingError.data("\(version.reference) has \(classes.count) class(es); classification needs at least 2") }
        }
        if config.positiveClass != nil && (segmentation || multiLabel) {
            throw TrainingError.config(path: "data.positive_class", reason: "applies to binary classification, not to \(task)")
        }
        let positive = segmentation || multiLabel ? 1 : try Self.positiveIndex(config.positiveClass, classes: classes, option: "data.positive_class")
        let trainEntries = version.entries(in: config.trainSplit)
        guard !trainEntries.isEmpty else {
            throw TrainingError.data("\(version.reference) has no '\(config.trainSplit)' split: assign one with `lumen data split \(version.name)`")
        }
        var valSplit: String? = config.valSplit
        if version.entries(in: valSplit).isEmpty { valSplit = version.entries(in: "test").isEmpty ? nil : "test" }

        // A resumed run: its record, checkpoint folder and saved position.
        var state = TrainingState()
        var resumedFrom: URL?
        if let resume {
            let previous = try await store.run(id: resume)
            guard previous.info.status != .finished else {
                throw TrainingError.training("run \(resume) is FINISHED; only interrupted, killed or failed runs continue with --resume")
            }
            guard let saved = Self.savedState(workspace, runID: resume) else {
                throw TrainingError.training("run \(resume) has no checkpoint to continue from (\(Self.checkpointFolder(workspace, runID: resume).path) is missing): it stopped before its first epoch ended")
            }
            state = try JSONDecoder().decode(TrainingState.self, from: Data(contentsOf: saved.appendingPathComponent("state.json")))
            resumedFrom = saved
        }

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
        options.multiLabel = multiLabel
        let trainLoader = try DataLoader(version: version, split: config.trainSplit, repository: repository, pipeline: pipelines.train, options: options, classes: classes)
        var evalOptions = options
        evalOptions.shuffle = false
        evalOptions.balanced = false
        let valLoader = try valSplit.map { try DataLoader(version: version, split: $0, repository: repository, pipeline: pipelines.eval, options: evalOptions, classes: classes) }

        let model = try makeModel(classes: classes.count)
        let optimizer = try makeOptimizer(model)
        let stepsPerEpoch = max(1, trainLoader.count / config.accumulate)
        if let resumedFrom {
            _ = try model.load(from: resumedFrom.appendingPathComponent("model.safetensors"), strict: true)
            try optimizer.load(from: resumedFrom.appendingPathComponent("optimizer.pt"))
            if let rng = state.rng { try Runtime.setRNGState(rng) }
        }
        let scheduler = try makeSchedule(optimizer, totalSteps: stepsPerEpoch * config.epochs, stepCount: state.schedulerSteps)
        let loss: any Loss
        if segmentation { loss = DiceCELoss(dice: DiceLoss(includeBackground: false)) } else if multiLabel { loss = MultiLabelLoss() } else {
            loss = CrossEntropyLoss(classWeights: config.classWeights ? classWeights(trainEntries, classes) : nil)
        }

        // Tracking.
        let experiment: Experiment
        let runID: String
        if let resume {
            runID = resume
            let info = try await store.updateRun(id: runID, status: .running, endTime: nil, name: nil)
            experiment = try await store.experiment(id: info.experimentID)
        } else {
            if let existing = try await store.experiment(named: config.experiment) { experiment = existing } else {
                experiment = try await store.createExperiment(name: config.experiment, artifactLocation: nil, tags: [:])
            }
            var tags = ["lumen.dataset": version.reference, "lumen.model": config.model, "lumen.libtorch": Runtime.libtorchVersion,
                        "lumen.threads": String(Runtime.threads), "lumen.cpu": cpuModel(), "mlflow.source.type": "LOCAL", "lumen.classes": classes.joined(separator: ","), "lumen.task": task]
            if let commit = gitCommit() { tags["mlflow.source.git.commit"] = commit }
            if let parentRunID { tags["mlflow.parentRunId"] = parentRunID }
            runID = try await store.createRun(experimentID: experiment.id, name: config.runName, startTime: nil, tags: tags, parentRunID: parentRunID).info.runID
        }
        let artifacts = ArtifactStore(root: workspace.artifactRoot)
        let artifactPrefix = "\(experiment.id)/\(runID)/artifacts"
        let folder = Self.checkpointFolder(workspace, runID: runID)
        do {
            if resume == nil {
                let params = config.tree.effectiveValues().map { Param(key: $0.0, value: String($0.1.prefix(6000))) }
                for chunk in stride(from: 0, to: params.count, by: 100) {
                    try await store.logBatch(runID: runID, metrics: [], params: Array(params[chunk..<min(chunk + 100, params.count)]), tags: [])
                }
                try await store.linkDatasets(runID: runID, [DatasetUse(dataset: version.name, version: version.id, context: "training")])
                try await recordData(try JSONEncoder().encode(config.record), as: "\(artifactPrefix)/\(TrainingResult.configArtifactPath)", artifacts)
            }
            events(.started(runID: runID, trainSamples: trainLoader.entries.count, valSamples: valLoader?.entries.count ?? 0, classes: classes))
            if resume != nil { events(.resumed(epoch: state.epoch, batch: state.batch)) }
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)

            /// Saves model, optimizer and position together (written to a new folder, then swapped in).
            func saveState() throws {
                let next = folder.appendingPathComponent("next")
                let current = folder.appendingPathComponent("current")
                try? FileManager.default.removeItem(at: next)
                try FileManager.default.createDirectory(at: next, withIntermediateDirectories: true)
                try model.save(to: next.appendingPathComponent("model.safetensors"), metadata: ["epoch": String(state.epoch), "classes": classes.joined(separator: ",")])
                try optimizer.save(to: next.appendingPathComponent("optimizer.pt"))
                state.rng = Runtime.rngState()
                try JSONEncoder().encode(state).write(to: next.appendingPathComponent("state.json"))
                let old = folder.appendingPathComponent("old")
                try? FileManager.default.removeItem(at: old)
                if FileManager.default.fileExists(atPath: current.path) { try FileManager.default.moveItem(at: current, to: old) }
                try FileManager.default.moveItem(at: next, to: current)
                try? FileManager.default.removeItem(at: old)
            }
            /// Copies the last and best checkpoints into the run's artifacts.
            func publishCheckpoints() async throws {
                let current = folder.appendingPathComponent("current/model.safetensors")
                if FileManager.default.fileExists(atPath: current.path) { try await record(current, as: "\(artifactPrefix)/checkpoints/last.safetensors", artifacts) }
                let best = folder.appendingPathComponent("best.safetensors")
                if FileManager.default.fileExists(atPath: best.path) { try await record(best, as: "\(artifactPrefix)/checkpoints/best.safetensors", artifacts) }
            }

            if config.freezeBackboneEpochs > 0, state.epoch < config.freezeBackboneEpochs, let classifier = model as? any Classifier { try classifier.freezeBackbone() }
            var stoppedEarly = false
            while state.epoch < config.epochs && !stoppedEarly {
                let epoch = state.epoch
                if epoch == config.freezeBackboneEpochs, config.freezeBackboneEpochs > 0 { try model.unfreeze() }
                model.train()
                let epochStart = Date().addingTimeInterval(-state.epochSeconds)
                let batches = trainLoader.epoch(epoch)
                var b = 0
                // A resumed epoch skips the batches it already trained (same order: seed, epoch and position decide it).
                while b < state.batch, try batches.nextBatch() != nil { b += 1 }
                try optimizer.zeroGrad()
                while let batch = try batches.nextBatch() {
                    guard let targets = segmentation ? batch.masks : batch.targets else {
                        throw TrainingError.data(segmentation ? "a training batch has images without masks" : "a training batch has unlabelled images")
                    }
                    let logits = try model(batch.images)
                    let value = try loss(logits, targets)
                    try (value / Double(config.accumulate)).backward()
                    b += 1
                    let stepped = b % config.accumulate == 0 || b == trainLoader.count
                    if stepped {
                        try optimizer.step()
                        try optimizer.zeroGrad()
                        if let scheduler { _ = try scheduler.step() }
                        state.globalStep += 1
                    }
                    let l = try value.item()
                    let n = batch.images.shape[0]
                    state.sum += l * Double(n)
                    state.seen += n
                    if multiLabel {
                        let truth = try targets.floats()
                        state.correct += zip(try logits.floats(), truth).filter { ($0 >= 0) == ($1 >= 0.5) }.count
                        state.counted += truth.count
                    } else {
                        let truth = try targets.int64s()
                        state.correct += zip(try logits.argmax(dim: 1).int64s(), truth).filter { $0 == $1 }.count
                        state.counted += truth.count
                    }
                    if b % 10 == 0 || b == trainLoader.count {
                        try await store.logMetric(runID: runID, key: "train_loss_step", value: l, step: state.globalStep)
                    }
                    events(.batch(epoch: epoch, batch: b, batches: trainLoader.count, loss: l))
                    if stepped && b < trainLoader.count && shouldStop() {
                        state.batch = b
                        state.schedulerSteps = scheduler?.stepCount ?? 0
                        state.epochSeconds = Date().timeIntervalSince(epochStart)
                        try saveState()
                        try await publishCheckpoints()
                        _ = try await store.updateRun(id: runID, status: .killed, endTime: Clock.nowMillis(), name: nil)
                        throw TrainingError.interrupted(runID: runID, epoch: epoch, batch: b)
                    }
                }
                let seconds = Date().timeIntervalSince(epochStart)
                var metrics: [String: Double] = ["train_loss": state.sum / Double(max(state.seen, 1)), (segmentation ? "train_pixel_accuracy" : multiLabel ? "train_label_accuracy" : "train_accuracy"): Double(state.correct) / Double(max(state.counted, 1)),
                                                 "lr": optimizer.learningRate(), "epoch_seconds": seconds, "train_images_per_s": Double(state.seen) / max(seconds, 1e-9)]
                if optimizer.groupCount > 1 { metrics["lr_backbone"] = optimizer.learningRate(group: 1) }
                if let valLoader, segmentation {
                    let (valLoss, report) = try evaluateSegmentation(model, valLoader, loss: loss, classes: classes, distances: false)
                    metrics["val_loss"] = valLoss
                    metrics["val_dice"] = report.meanForegroundDice
                    metrics["val_iou"] = report.meanForegroundIoU
                    metrics["val_pixel_accuracy"] = report.pixelAccuracy
                } else if let valLoader, multiLabel {
                    let (valLoss, report) = try evaluateMultiLabel(model, valLoader, loss: loss, classes: classes)
                    metrics["val_loss"] = valLoss
                    metrics["val_auc"] = report.macroAUC
                    metrics["val_f1_micro"] = report.microF1
                    metrics["val_subset_accuracy"] = report.subsetAccuracy
                    metrics["val_label_accuracy"] = 1 - report.hammingLoss
                } else if let valLoader {
                    let v = try evaluate(model, valLoader, loss: loss)
                    metrics["val_loss"] = v.loss
                    metrics["val_accuracy"] = ClassificationMetrics.accuracy(probabilities: v.probabilities, labels: v.labels)
                    metrics["val_auc"] = ClassificationMetrics.auc(probabilities: v.probabilities, labels: v.labels)
                }
                try await store.logBatch(runID: runID, metrics: metrics.map { Metric(key: $0.key, value: $0.value, timestamp: Clock.nowMillis(), step: Int64(epoch)) }, params: [], tags: [])
                state.lastMetrics = metrics
                state.epochsRun = epoch + 1
                let watched = metrics[config.monitor] ?? metrics["train_loss"]!
                let improved = !watched.isNaN && (state.bestValue.map { config.monitorMode == "min" ? watched < $0 : watched > $0 } ?? true)
                if improved {
                    state.bestValue = watched
                    state.bestMetrics = metrics
                    state.sinceBest = 0
                    let tmp = folder.appendingPathComponent("best.tmp")
                    try model.save(to: tmp, metadata: ["epoch": String(epoch), "classes": classes.joined(separator: ",")])
                    guard rename(tmp.path, folder.appendingPathComponent("best.safetensors").path) == 0 else {
                        throw TrainingError.training("cannot write the best checkpoint in \(folder.path): \(String(cString: strerror(errno)))")
                    }
                } else {
                    state.sinceBest += 1
                }
                events(.epoch(epoch: epoch, metrics: metrics, best: improved))
                if config.patience > 0 && state.sinceBest >= config.patience {
                    events(.stoppedEarly(epoch: epoch))
                    stoppedEarly = true
                }
                state.epoch = epoch + 1
                state.batch = 0
                state.sum = 0; state.seen = 0; state.correct = 0; state.counted = 0; state.epochSeconds = 0
                state.schedulerSteps = scheduler?.stepCount ?? 0
                try saveState()
                if !stoppedEarly && state.epoch < config.epochs && shouldStop() {
                    try await publishCheckpoints()
                    _ = try await store.updateRun(id: runID, status: .killed, endTime: Clock.nowMillis(), name: nil)
                    throw TrainingError.interrupted(runID: runID, epoch: state.epoch, batch: 0)
                }
            }
            try await publishCheckpoints()
            try await store.logBatch(runID: runID, metrics: state.bestMetrics.map { Metric(key: "best_" + $0.key, value: $0.value, timestamp: Clock.nowMillis(), step: 0) }, params: [], tags: [])
            // The best checkpoint on the validation split, for the model card's figures and intervals.
            var validation: ClassificationReport?
            var segmentationValidation: SegmentationReport?
            var multiLabelValidation: MultiLabelReport?
            if let valLoader, multiLabel {
                _ = try model.load(from: folder.appendingPathComponent("best.safetensors"), strict: true)
                multiLabelValidation = try evaluateMultiLabel(model, valLoader, loss: loss, classes: classes).report
            } else if let valLoader, segmentation {
                _ = try model.load(from: folder.appendingPathComponent("best.safetensors"), strict: true)
                segmentationValidation = try evaluateSegmentation(model, valLoader, loss: loss, classes: classes, distances: true).report
            } else if let valLoader {
                _ = try model.load(from: folder.appendingPathComponent("best.safetensors"), strict: true)
                let v = try evaluate(model, valLoader, loss: loss)
                let predictions = zip(v.probabilities, v.labels).enumerated().map { Prediction(path: valLoader.entries[$0.offset].path, label: $0.element.1, probabilities: $0.element.0) }
                validation = ClassificationReport(classes: classes, predictions: predictions, bootstrap: 1000, seed: config.seed, positive: positive)
            }
            let signature = "{\"inputs\": {\"shape\": [-1, \(config.channels), \(config.imageSize), \(config.imageSize)], \"dtype\": \"float32\"}, \"outputs\": {\"shape\": [-1, \(classes.count)\(segmentation ? ", \(config.imageSize), \(config.imageSize)" : "")], \"classes\": [\(classes.map { "\"\($0)\"" }.joined(separator: ", "))]}}"
            let preprocessing = String(decoding: try JSONEncoder().encode(pipelines.eval), as: UTF8.self)
            let result = TrainingResult(runID: runID, epochs: state.epochsRun, best: state.bestMetrics, last: state.lastMetrics, classes: classes,
                                        bestCheckpoint: "\(artifactPrefix)/checkpoints/best.safetensors", signature: signature, preprocessing: preprocessing,
                                        validation: validation, segmentationValidation: segmentationValidation, multiLabelValidation: multiLabelValidation, task: task,
                                        dataset: version.reference, trainImages: trainLoader.entries.count)
            try await recordData(try TrainingResult.encoder.encode(result), as: "\(artifactPrefix)/\(TrainingResult.artifactPath)", artifacts)
            _ = try await store.updateRun(id: runID, status: .finished, endTime: Clock.nowMillis(), name: nil)
            try? FileManager.default.removeItem(at: folder)
            return result
        } catch let error as TrainingError {
            if case .interrupted = error { throw error }
            _ = try? await store.updateRun(id: runID, status: .failed, endTime: Clock.nowMillis(), name: nil)
            throw error
        } catch {
            _ = try? await store.updateRun(id: runID, status: .failed, endTime: Clock.nowMillis(), name: nil)
            throw error
        }
    }

    /// The saved state of a run, if it has one (`current`, or `old` when a save was cut short between its two renames).
    static func savedState(_ workspace: Workspace, runID: String) -> URL? {
        let folder = checkpointFolder(workspace, runID: runID)
        for name in ["current", "old"] {
            let candidate = folder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent("state.json").path) { return candidate }
        }
        return nil
    }

    struct Evaluation { var loss: Double; var probabilities: [[Double]]; var labels: [Int] }

    /// Segmentation on a loader: the mean loss and the report of the predicted label maps (HD95 only with `distances`).
    func evaluateSegmentation(_ model: any Module, _ loader: DataLoader, loss: any Loss, classes: [String], distances: Bool) throws -> (loss: Double, report: SegmentationReport) {
        model.eval()
        var total = 0.0, n = 0
        var maps: [(path: String, predicted: [Int], truth: [Int], width: Int, height: Int)] = []
        let batches = loader.epoch(0)
        while let batch = try batches.nextBatch() {
            guard let masks = batch.masks else { throw TrainingError.data("\(batch.paths.first ?? "an image") of the validation split has no mask") }
            let (l, predicted) = try withNoGrad { () throws(LumenError) -> (Double, [Int64]) in
                let logits = try model(batch.images)
                return (try loss(logits, masks).item(), try logits.argmax(dim: 1).int64s())
            }
            let truth = try masks.int64s()
            let count = batch.images.shape[0], h = masks.shape[1], w = masks.shape[2]
            for i in 0..<count {
                let range = i * h * w..<(i + 1) * h * w
                maps.append((batch.paths[i], predicted[range].map { Int($0) }, truth[range].map { Int($0) }, w, h))
            }
            total += l * Double(count)
            n += count
        }
        return (total / Double(max(n, 1)), SegmentationReport(classNames: classes, maps: maps, distances: distances))
    }

    /// Multi-label on a loader: the mean loss and the per-label report (sigmoid probabilities, threshold 0.5).
    func evaluateMultiLabel(_ model: any Module, _ loader: DataLoader, loss: any Loss, classes: [String]) throws -> (loss: Double, report: MultiLabelReport) {
        model.eval()
        var total = 0.0, n = 0
        var predictions: [MultiLabelPrediction] = []
        let batches = loader.epoch(0)
        while let batch = try batches.nextBatch() {
            guard let targets = batch.targets else { continue }
            let (l, p) = try withNoGrad { () throws(LumenError) -> (Double, [Double]) in
                let logits = try model(batch.images)
                return (try loss(logits, targets).item(), try logits.sigmoid().doubles())
            }
            let truth = try targets.floats()
            let k = classes.count, count = batch.images.shape[0]
            for i in 0..<count {
                predictions.append(MultiLabelPrediction(path: batch.paths[i], labels: truth[i * k..<(i + 1) * k].map { $0 >= 0.5 ? 1 : 0 },
                                                        probabilities: Array(p[i * k..<(i + 1) * k])))
            }
            total += l * Double(count)
            n += count
        }
        return (total / Double(max(n, 1)), MultiLabelReport(classes: classes, predictions: predictions))
    }

    func evaluate(_ model: any Module, _ loader: DataLoader, loss: any Loss) throws -> Evaluation {
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
        try await recordData(try Data(contentsOf: file), as: path, artifacts)
    }

    func recordData(_ data: Data, as path: String, _ artifacts: ArtifactStore) async throws {
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
        case "unet": model = try UNet(inChannels: c, numClasses: classes, depth: config.unetDepth, baseWidth: config.unetWidth)
        default: model = try ResNet(.resnet18, inChannels: c, numClasses: classes)
        }
        if let pretrained = config.pretrained {
            // torchvision key names; the head (another class count) keeps its fresh initialisation.
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
                throw TrainingError.config(path: "model.pretrained", reason: "\(pretrained) has no weights whose names fit \(config.model)")
            }
        }
        return model
    }

    /// The index of the positive class of a binary task: `name` (which must be one of `classes`), else 1
    /// (the second class in sorted order, scikit-learn's `pos_label=1`).
    static func positiveIndex(_ name: String?, classes: [String], option: String) throws -> Int {
        guard let name else { return 1 }
        func refuse(_ reason: String) -> TrainingError { option.hasPrefix("--") ? .data("\(option) \(name): \(reason)") : .config(path: option, reason: reason) }
        guard let index = classes.firstIndex(of: name) else { throw refuse("'\(name)' is not a class of this model (classes: \(classes.joined(separator: ", ")))") }
        guard classes.count == 2 else { throw refuse("a positive class applies to binary tasks; this one has \(classes.count) classes") }
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
        case "sgd": return try SGD(groups, lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay)
        case "adam": return try Adam(groups, lr: config.lr, weightDecay: config.weightDecay)
        default: return try AdamW(groups, lr: config.lr, weightDecay: config.weightDecay)
        }
    }

    /// Whether the run fine-tunes a backbone (pretrained weights, or epochs with the backbone frozen).
    var fineTuning: Bool { config.pretrained != nil || config.freezeBackboneEpochs > 0 }

    func makeSchedule(_ optimizer: Optimizer, totalSteps: Int, stepCount: Int = 0) throws -> LRScheduler? {
        switch config.schedule {
        case "cosine": return try LRScheduler(optimizer, schedule: CosineAnnealingLR(tMax: totalSteps), stepCount: stepCount)
        case "step": return try LRScheduler(optimizer, schedule: StepLR(stepSize: max(1, totalSteps / 3)), stepCount: stepCount)
        case "onecycle":
            // One cycle per group, each peaking at its own rate (PyTorch's list of max_lr).
            let schedule: any LRSchedule = optimizer.groupCount > 1 ? ScaledSchedule(OneCycleLR(maxLR: 1, totalSteps: totalSteps)) : OneCycleLR(maxLR: config.lr, totalSteps: totalSteps)
            return try LRScheduler(optimizer, schedule: schedule, stepCount: stepCount)
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

/// A schedule defined for a peak of 1, scaled by each group's base rate.
struct ScaledSchedule: LRSchedule {
    let unit: any LRSchedule
    init(_ unit: any LRSchedule) { self.unit = unit }
    func learningRate(afterSteps step: Int, base: Double) -> Double { base * unit.learningRate(afterSteps: step, base: 1) }
}
