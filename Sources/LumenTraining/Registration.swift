import Foundation
import LumenImaging
import LumenInference
import LumenStore
import LumenTensor
import LumenWorkspace

/// Registering a trained model: a new version of NAME pointing at the run's best checkpoint, with its
/// `ModelSpec`, signature, preprocessing, lineage (the run and its dataset) and a model card. Shared by
/// `lumen train --register`, `lumen models register RUN NAME` and `lumen sweep --register`. Everything
/// is kept in the store and the artifact root, so every replica on the same store sees it.
public enum ModelRegistration {
    /// The training result and config a finished `lumen train` run keeps as artifacts (nil for runs
    /// logged some other way, e.g. by the mlflow client).
    public static func trainingRecord(runID: String, store: any Store, workspace: Workspace) async throws -> (result: TrainingResult, config: ExperimentConfig)? {
        let run = try await store.run(id: runID)
        let prefix = "\(run.info.experimentID)/\(runID)/artifacts/"
        let artifacts = ArtifactStore(root: workspace.artifactRoot)
        func read(_ path: String) async throws -> Data? {
            guard let entry = try await store.artifact(path: prefix + path), let sha = entry.sha256 else { return nil }
            return try Data(contentsOf: artifacts.url(for: sha))
        }
        guard let resultData = try await read(TrainingResult.artifactPath), let configData = try await read(TrainingResult.configArtifactPath) else { return nil }
        let result = try TrainingResult.decoder.decode(TrainingResult.self, from: resultData)
        let config = try ExperimentConfig(record: JSONDecoder().decode(ConfigRecord.self, from: configData))
        return (result, config)
    }

    /// The spec of a run's best checkpoint: the one the run recorded, or (runs before specs) one rebuilt
    /// from its config and result. A run without a best checkpoint in the artifact store is refused.
    public static func spec(result: TrainingResult, config: ExperimentConfig, store: any Store) async throws -> ModelSpec {
        guard let entry = try await store.artifact(path: result.bestCheckpoint), let sha = entry.sha256 else {
            throw TrainingError.data("run \(result.runID) has no model checkpoint (\(result.bestCheckpoint) is not in the artifact store): nothing to register")
        }
        if var spec = result.spec {
            spec.checkpoint = .init(path: result.bestCheckpoint, sha256: sha)
            return spec
        }
        guard let task = ModelTask(rawValue: result.task) else { throw TrainingError.data("run \(result.runID) records an unknown task '\(result.task)'") }
        let preprocessing = try JSONDecoder().decode(Pipeline.self, from: Data(result.preprocessing.utf8))
        let positive = task == .classification && result.classes.count == 2
            ? result.classes[try Trainer.positiveIndex(config.positiveClass, classes: result.classes, option: "data.positive_class")] : nil
        return ModelSpec(task: task, architecture: config.architecture, inputChannels: config.channels, inputHeight: config.imageSize, inputWidth: config.imageSize,
                         classes: result.classes, positiveClass: positive, labelThreshold: config.labelThreshold, preprocessing: preprocessing,
                         checkpoint: .init(path: result.bestCheckpoint, sha256: sha), libtorchVersion: Runtime.libtorchVersion, lumenVersion: LumenRelease.version)
    }

    /// Registers `result` as the next version of `name` (created when missing) with its spec, writes the
    /// model card (the run artifact `model_card.md`, named by the version's `model_card` tag) and points
    /// `alias` at it. Returns the version and the card's artifact path.
    public static func register(name: String, result: TrainingResult, config: ExperimentConfig, store: any Store, workspace: Workspace,
                                alias: String? = nil, libtorch: String) async throws -> (version: ModelVersion, card: String) {
        try ModelReference.checkName(name)
        if let alias { try ModelReference.checkAlias(alias) }
        let spec = try await spec(result: result, config: config, store: store)
        try spec.validate(model: name)
        if (try? await store.registeredModel(name: name)) == nil { _ = try await store.createRegisteredModel(name: name, description: "", tags: [:]) }
        let version = try await store.createModelVersion(name: name, source: "runs:/\(result.runID)/checkpoints/best.safetensors", runID: result.runID,
                                                         description: "trained by lumen train", tags: ["task": spec.task.rawValue],
                                                         signature: result.signature, preprocessing: result.preprocessing, spec: try spec.json())
        let card = ModelCard.markdown(name: name, version: version.version, runID: result.runID, config: config, dataset: result.dataset,
                                      trainImages: result.trainImages, validation: result.validation, segmentation: result.segmentationValidation, multiLabel: result.multiLabelValidation, libtorch: libtorch)
        let run = try await store.run(id: result.runID)
        let path = "\(run.info.experimentID)/\(result.runID)/artifacts/model_card.md"
        let (sha, size) = try ArtifactStore(root: workspace.artifactRoot).put(Data(card.utf8))
        try await store.recordArtifact(path: path, sha256: sha, size: size)
        try await store.setModelVersionTag(name: name, version: version.version, key: "model_card", value: "model_card.md")
        if let alias { try await store.setAlias(name: name, alias: alias, version: version.version) }
        // The same model as an MLflow 3 logged model of its run (mlflow.search_logged_models and models:/m-… see it).
        _ = try await store.recordTrainedModel(runID: result.runID, name: name, artifactPaths: ["checkpoints/best.safetensors", "model_card.md"],
                                               tags: ["task": spec.task.rawValue], registeredVersion: (name: name, version: version.version))
        return (try await store.modelVersion(name: name, version: version.version), path)
    }

    /// The model card of a version registered by Lumen (read from the artifact store), if it has one.
    public static func modelCard(_ version: ModelVersion, store: any Store, workspace: Workspace) async throws -> String? {
        guard version.tags["model_card"] != nil, let runID = version.runID else { return nil }
        let run = try await store.run(id: runID)
        guard let entry = try await store.artifact(path: "\(run.info.experimentID)/\(runID)/artifacts/model_card.md"), let sha = entry.sha256 else { return nil }
        return String(decoding: try Data(contentsOf: ArtifactStore(root: workspace.artifactRoot).url(for: sha)), as: UTF8.self)
    }
}
