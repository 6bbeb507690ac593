import Foundation
import LumenImaging
import LumenInference
import LumenStore
import LumenTensor
import LumenWorkspace

/// A registered model made ready to predict: the version and its `Predictor` (spec, network, preprocessing).
public struct LoadedModel {
    public let version: ModelVersion
    public let predictor: Predictor

    public var spec: ModelSpec { predictor.spec }
    public var classes: [String] { spec.classes }
    public var task: ModelTask { spec.task }
    public var preprocessing: Pipeline { spec.preprocessing }
    /// Whether the model segments (a U-Net) rather than classifies.
    public var segments: Bool { spec.task == .segmentation }
    /// The CT window the preprocessing applies, for thumbnails.
    public var window: Window? {
        for step in spec.preprocessing.steps {
            switch step {
            case let .window(center, width): return Window(center: center, width: width)
            case let .windowPreset(preset): return preset.window
            default: continue
            }
        }
        return nil
    }
}

/// Loading registered models for the commands: one reference parser, one spec per version (versions
/// registered by `lumen train` before specs existed get theirs here, once), one `Predictor`.
public enum ModelLoader {
    /// Resolves `reference` (NAME@ALIAS, NAME/VERSION, NAME, models:/…, runs:/…) and builds its predictor.
    public static func load(_ reference: String, store: any Store, workspace: Workspace) async throws -> LoadedModel {
        var version = try await store.modelVersion(ModelReference(parsing: reference))
        if version.spec == nil { version = try await migrate(version, store: store, workspace: workspace) }
        let predictor = try Predictor.load(version, artifacts: ArtifactStore(root: workspace.artifactRoot))
        return LoadedModel(version: version, predictor: predictor)
    }

    /// Gives a version registered before model specs its spec, rebuilt from its `lumen train` run (config,
    /// classes, task, best checkpoint) and stored with the version. A version with no such run is refused
    /// with what to do.
    public static func migrate(_ version: ModelVersion, store: any Store, workspace: Workspace) async throws -> ModelVersion {
        let name = "\(version.name) version \(version.version)"
        guard let runID = version.runID, let record = try await ModelRegistration.trainingRecord(runID: runID, store: store, workspace: workspace) else {
            throw InferenceError.noSpec(model: name, reason: "it has no model spec and no finished `lumen train` run to rebuild one from; register a lumen train run (`lumen models register RUN \(version.name)`)")
        }
        let spec = try await ModelRegistration.spec(result: record.result, config: record.config, store: store)
        try await store.setModelVersionSpec(name: version.name, version: version.version, spec: try spec.json())
        return try await store.modelVersion(name: version.name, version: version.version)
    }
}
