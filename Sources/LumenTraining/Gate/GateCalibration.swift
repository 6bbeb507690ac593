import Foundation
import LumenData
import LumenInference
import LumenStore
import LumenTensor
import LumenWorkspace

/// Fits a model version's input gate: the training embeddings' statistics (Mahalanobis) from one
/// split, and the threshold from another, held-out split for a stated false-rejection rate.
public enum GateCalibration {
    /// The scores of every image of `split` (in the loader's order) by `gate`'s method.
    static func scores(_ gate: InputGate, loaded: LoadedModel, version: DatasetVersion, split: String, repository: DatasetRepository) throws -> [Double] {
        let loader = try Evaluator.loader(version, split: split, loaded: loaded, repository: repository, batchSize: 32)
        var out: [Double] = []
        try loaded.predictor.run(loader) { batch, output in
            switch gate.method {
            case .mahalanobis:
                for e in try loaded.predictor.embed(batch: batch.images) { out.append(gate.mahalanobis(e)) }
            case .energy:
                let k = output.logits.shape[1]
                let values = try output.logits.floats()
                for i in 0..<output.logits.shape[0] { out.append(InputGate.energy(Array(values[i * k..<(i + 1) * k]), temperature: gate.temperature ?? 1)) }
            case nil:
                break
            }
        }
        return out
    }

    /// A gate by `method` fitted on `fitSplit` (Mahalanobis statistics) with its threshold from `split`.
    public static func calibrate(_ loaded: LoadedModel, method: InputGate.Method, dataset: String, fitSplit: String, split: String,
                                 falseRejectionRate: Double, workspace: Workspace) throws -> (gate: InputGate, heldOut: [Double]) {
        guard loaded.task != .segmentation || method == .mahalanobis else {
            throw TrainingError.config(path: "--method", reason: "the energy score needs class logits; a segmentation model takes --method mahalanobis")
        }
        guard (0.0..<1.0).contains(falseRejectionRate) else { throw TrainingError.config(path: "--false-rejection", reason: "must be in [0, 1), e.g. 0.05") }
        let repository = DatasetRepository(workspace: workspace)
        let version = try Evaluator.resolve(dataset, for: loaded, repository: repository)
        for s in [fitSplit, split] where version.entries(in: s).isEmpty {
            throw TrainingError.data("\(version.reference) has no '\(s)' split (splits: \(Set(version.entries.compactMap(\.split)).sorted().joined(separator: ", ")))")
        }
        var gate = InputGate(method: method, falseRejectionRate: falseRejectionRate, calibratedOn: "\(version.reference) [\(split)]")
        if method == .mahalanobis {
            let loader = try Evaluator.loader(version, split: fitSplit, loaded: loaded, repository: repository, batchSize: 32)
            var embeddings: [[Float]] = []
            try loaded.predictor.run(loader) { batch, _ in embeddings += try loaded.predictor.embed(batch: batch.images) }
            let (mean, variance) = InputGate.statistics(embeddings)
            gate.mean = mean
            gate.variance = variance
        } else {
            gate.temperature = 1
        }
        let held = try scores(gate, loaded: loaded, version: version, split: split, repository: repository)
        guard held.count >= 10 else { throw TrainingError.data("the '\(split)' split has \(held.count) images; a threshold needs at least 10 held-out images") }
        gate.threshold = InputGate.threshold(held, falseRejectionRate: falseRejectionRate)
        return (gate, held)
    }

    /// Stores `gate` with the version (its JSON in the artifact store, the digest in the `lumen.gate` tag),
    /// keeping what an earlier gate had of the other kind unless `replace`.
    public static func save(_ gate: InputGate, name: String, version: Int64, store: any Store, workspace: Workspace) async throws {
        let (sha, _) = try ArtifactStore(root: workspace.artifactRoot).put(try gate.json())
        try await store.setModelVersionTag(name: name, version: version, key: InputGate.tag, value: sha)
        try await store.setModelVersionTag(name: name, version: version, key: InputGate.tag + ".summary", value: String(gate.summary.prefix(500)))
    }

    /// The gate stored with a version, if any.
    public static func load(_ version: ModelVersion, workspace: Workspace) throws -> InputGate? {
        try InputGate.load(version, artifacts: ArtifactStore(root: workspace.artifactRoot))
    }
}
