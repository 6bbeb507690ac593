import Foundation
import LumenStore
import LumenTensor
import LumenWorkspace

extension Predictor {
    /// The predictor of a registered version: its `ModelSpec` and the checkpoint it names in the artifact store.
    /// A version without a spec is refused with the command that fixes it.
    public static func load(_ version: ModelVersion, artifacts: ArtifactStore, executor: ComputeThread = .shared) throws -> Predictor {
        let name = "\(version.name) version \(version.version)"
        guard let text = version.spec else {
            throw InferenceError.noSpec(model: name, reason: "registered without a Lumen model spec: `lumen models migrate` adds one to versions registered by `lumen train` before specs existed; a model logged by another client is registered again from a `lumen train` run (`lumen models register RUN \(version.name)`)")
        }
        let spec = try ModelSpec.decode(text, model: name)
        let weights = try artifacts.url(for: spec.checkpoint.sha256)
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw InferenceError.checkpoint(model: name, reason: "\(spec.checkpoint.path) (sha256 \(spec.checkpoint.sha256.prefix(12))…) is not under the artifact root \(artifacts.root.path)")
        }
        return try Predictor(spec: spec, weights: weights, name: name, executor: executor)
    }
}
