import Foundation
import LumenStore

/// Registering a trained model: a new version of NAME pointing at the run's best checkpoint, with its
/// signature, preprocessing, lineage (the run and its dataset) and a model card. Shared by
/// `lumen train --register`, `lumen models register RUN NAME` and `lumen sweep --register`.
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

    /// Registers `result` as the next version of `name` (created when missing), writes the model card
    /// (a run artifact `model_card.md` and `.lumen/model-cards/NAME-vN.md`) and points `alias` at it.
    public static func register(name: String, result: TrainingResult, config: ExperimentConfig, store: any Store, workspace: Workspace,
                                alias: String? = nil, libtorch: String) async throws -> (version: ModelVersion, card: URL) {
        if (try? await store.registeredModel(name: name)) == nil { _ = try await store.createRegisteredModel(name: name, description: "", tags: [:]) }
        let version = try await store.createModelVersion(name: name, source: "runs:/\(result.runID)/checkpoints/best.safetensors", runID: result.runID,
                                                         description: "trained by lumen train", tags: ["classes": result.classes.joined(separator: ","), "task": result.task],
                                                         signature: result.signature, preprocessing: result.preprocessing)
        let card = ModelCard.markdown(name: name, version: version.version, runID: result.runID, config: config, dataset: result.dataset,
                                      trainImages: result.trainImages, validation: result.validation, segmentation: result.segmentationValidation, multiLabel: result.multiLabelValidation, libtorch: libtorch)
        let run = try await store.run(id: result.runID)
        let path = "\(run.info.experimentID)/\(result.runID)/artifacts/model_card.md"
        let (sha, size) = try ArtifactStore(root: workspace.artifactRoot).put(Data(card.utf8))
        try await store.recordArtifact(path: path, sha256: sha, size: size)
        try await store.setModelVersionTag(name: name, version: version.version, key: "model_card", value: "model_card.md")
        if let alias { try await store.setAlias(name: name, alias: alias, version: version.version) }
        let folder = workspace.folder.appendingPathComponent("model-cards")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent("\(name)-v\(version.version).md")
        try card.write(to: file, atomically: true, encoding: .utf8)
        return (version, file)
    }
}
