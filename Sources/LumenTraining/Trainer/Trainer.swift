import Foundation
import LumenData
import LumenInference
import LumenNN
import LumenStore
import LumenTensor
import LumenWorkspace

/// Trains a model from an experiment config on a dataset version, logging everything to the store:
/// the config as parameters, the dataset version as lineage, per-step and per-epoch metrics, system
/// information as tags, and the best and last checkpoints as artifacts. A run that was interrupted
/// (`shouldStop`, Ctrl-C in `lumen train`), failed or was killed continues with `resume`.
///
/// The work is split by concern: `Trainer+Setup` (data, task, network, optimizer, schedule, loss),
/// `Trainer+Tracking` (the run and its inputs), `Trainer+Checkpoints` (resumable state),
/// `TrainingLoop` (epochs and batches) and `Trainer+Validation` (through the `Predictor`).
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

    /// Trains, evaluates the best checkpoint on the validation split and records everything in the run.
    /// The work runs on `ComputeThread.shared` (one OpenMP team whatever the awaits in between).
    public func run(events: (TrainingEvent) -> Void = { _ in }) async throws -> TrainingResult {
        try await withTaskExecutorPreference(ComputeThread.shared) { try await train(events: events) }
    }

    private func train(events: (TrainingEvent) -> Void) async throws -> TrainingResult {
        let repository = DatasetRepository(workspace: workspace)
        let data = try prepareData(repository: repository)

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
        options.multiLabel = data.task == .multiLabel
        let trainLoader = try DataLoader(version: data.version, split: config.trainSplit, repository: repository, pipeline: pipelines.train, options: options, classes: data.classes)
        var evalOptions = options
        evalOptions.shuffle = false
        evalOptions.balanced = false
        let valLoader = try data.valSplit.map { try DataLoader(version: data.version, split: $0, repository: repository, pipeline: pipelines.eval, options: evalOptions, classes: data.classes) }

        let model = try makeModel(classes: data.classes.count)
        let optimizer = try makeOptimizer(model)
        let stepsPerEpoch = max(1, trainLoader.count / config.accumulate)
        if let resumedFrom {
            _ = try model.load(from: resumedFrom.appendingPathComponent("model.safetensors"), strict: true)
            try optimizer.load(from: resumedFrom.appendingPathComponent("optimizer.pt"))
            if let rng = state.rng { try Runtime.setRNGState(rng) }
        }
        let scheduler = try makeSchedule(optimizer, totalSteps: stepsPerEpoch * config.epochs, stepCount: state.schedulerSteps)
        let loss = try makeLoss(data)
        // A watched metric that is never logged would train on silently with the wrong checkpoint kept.
        let logged = TrainingLoop.loggedMetrics(task: data.task, validates: valLoader != nil, groups: optimizer.groupCount)
        guard logged.contains(config.monitor) else {
            throw TrainingError.config(path: "trainer.early_stopping.metric", reason: "'\(config.monitor)' is not logged by this run; it logs \(logged.joined(separator: ", "))\(valLoader == nil ? " (no validation split, so no val_ metrics)" : "")")
        }

        let (experimentID, runID) = try await openRun(data)
        let artifacts = ArtifactStore(root: workspace.artifactRoot)
        let artifactPrefix = "\(experimentID)/\(runID)/artifacts"
        let bestPath = "\(artifactPrefix)/checkpoints/best.safetensors"
        let folder = CheckpointFolder(url: Self.checkpointFolder(workspace, runID: runID))
        do {
            if resume == nil { try await logInputs(runID: runID, artifactPrefix: artifactPrefix, data: data, artifacts: artifacts) }
            events(.started(runID: runID, trainSamples: trainLoader.entries.count, valSamples: valLoader?.entries.count ?? 0, classes: data.classes))
            if resume != nil { events(.resumed(epoch: state.epoch, batch: state.batch)) }
            try FileManager.default.createDirectory(at: folder.url, withIntermediateDirectories: true)

            // The network being trained, seen through the one prediction path for validation.
            let predictor = Predictor(spec: modelSpec(data, preprocessing: pipelines.eval, checkpoint: .init(path: bestPath, sha256: "")), network: model, name: "run \(runID)")
            var loop = TrainingLoop(trainer: self, data: data, model: model, optimizer: optimizer, scheduler: scheduler, loss: loss,
                                    trainLoader: trainLoader, valLoader: valLoader, predictor: predictor, folder: folder, runID: runID,
                                    artifactPrefix: artifactPrefix, artifacts: artifacts, state: state)
            try await loop.run(events: events)
            state = loop.state

            try await loop.publishCheckpoints()
            try await store.logBatch(runID: runID, metrics: state.bestMetrics.map { Metric(key: "best_" + $0.key, value: $0.value, timestamp: Clock.nowMillis(), step: 0) }, params: [], tags: [])
            // The best checkpoint on the validation split, for the model card's figures and intervals.
            var final: ValidationPass?
            if let valLoader {
                _ = try model.load(from: folder.best, strict: true)
                final = try validate(predictor, valLoader, loss: loss, data: data, full: true)
            }
            let bestSHA = try await store.artifact(path: bestPath)?.sha256 ?? ""
            let spec = modelSpec(data, preprocessing: pipelines.eval, checkpoint: .init(path: bestPath, sha256: bestSHA))
            let result = TrainingResult(runID: runID, epochs: state.epochsRun, best: state.bestMetrics, last: state.lastMetrics, classes: data.classes,
                                        bestCheckpoint: bestPath, signature: try Self.signature(spec), preprocessing: String(decoding: try JSONEncoder().encode(pipelines.eval), as: UTF8.self),
                                        validation: final?.classification, segmentationValidation: final?.segmentation, multiLabelValidation: final?.multiLabel,
                                        task: data.task.rawValue, dataset: data.version.reference, trainImages: trainLoader.entries.count, spec: bestSHA.isEmpty ? nil : spec,
                                        bestEpoch: state.bestEpoch)
            try await recordData(try TrainingResult.encoder.encode(result), as: "\(artifactPrefix)/\(TrainingResult.artifactPath)", artifacts)
            _ = try await store.updateRun(id: runID, status: .finished, endTime: Clock.nowMillis(), name: nil)
            try? FileManager.default.removeItem(at: folder.url)
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

    /// The model's input and output shapes as JSON (MLflow's signature field), built with an encoder.
    static func signature(_ spec: ModelSpec) throws -> String {
        struct Shape: Encodable { var shape: [Int]; var dtype: String?; var classes: [String]? }
        var output = [-1, spec.classes.count]
        if spec.task == .segmentation { output += [spec.inputHeight, spec.inputWidth] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(["inputs": Shape(shape: [-1, spec.inputChannels, spec.inputHeight, spec.inputWidth], dtype: "float32"),
                                                    "outputs": Shape(shape: output, classes: spec.classes)]), as: UTF8.self)
    }
}
