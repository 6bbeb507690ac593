import Foundation
import LumenData
import LumenImaging
import LumenInference
import LumenMonitoring
import LumenStore
import LumenWorkspace

/// Makes and stores a version's reference profile from a dataset split, reading and preprocessing each
/// image the way the server does (so the logged features and the reference are the same quantities).
public enum ReferenceProfiler {
    /// `maxImages`: a larger split is sampled evenly (every k-th image, deterministic).
    public static func make(_ loaded: LoadedModel, dataset: String, split: String, workspace: Workspace, maxImages: Int? = nil,
                            progress: ((Int, Int) -> Void)? = nil) throws -> ReferenceProfile {
        let repository = DatasetRepository(workspace: workspace)
        let version = try repository.resolve(dataset)
        var entries = version.entries(in: split)
        if let maxImages, entries.count > maxImages {
            let step = Double(entries.count) / Double(maxImages)
            entries = (0..<maxImages).map { entries[Int(Double($0) * step)] }
        }
        guard entries.count >= 10 else {
            throw TrainingError.data("\(version.reference) has \(entries.count) images in '\(split)'; a reference needs at least 10")
        }
        let predictor = loaded.predictor
        var features: [String: [Double]] = [:], outputs: [String: [Double]] = [:], labels: [String] = [], embeddings: [[Float]] = []
        var acquisition: [String: [String]] = [:], seen = 0
        for start in stride(from: 0, to: entries.count, by: 32) {
            let chunk = entries[start..<min(start + 32, entries.count)]
            var planes: [Plane] = []
            for e in chunk {
                let image = try ImageReader.read(try repository.bytes(e.sha256), source: e.path)
                let plane = try predictor.preprocess(image)
                // Rounded as the server logs them (6 significant digits), so that the same image gives the same value.
                for (k, v) in InputFeatures.of(plane) { features[k, default: []].append(Double(String(format: "%.6g", v)) ?? v) }
                let acquired = InputFeatures.acquisition(of: image)
                for k in Set(acquired.keys).union(acquisition.keys) {
                    acquisition[k, default: Array(repeating: "", count: seen)].append(acquired[k] ?? "")
                }
                seen += 1
                planes.append(plane)
            }
            let output = try predictor.predict(batch: predictor.batch(planes), embeddings: true)
            embeddings += output.embeddings ?? []
            if loaded.task != .segmentation {
                for p in output.predictions {
                    for (i, value) in p.probabilities.enumerated() { outputs["p_" + loaded.classes[i], default: []].append(value) }
                    if let top = p.labels.first { labels.append(loaded.classes[top]) }
                }
            }
            progress?(min(start + 32, entries.count), entries.count)
        }
        return ReferenceProfile(model: loaded.version.name, version: loaded.version.version, dataset: version.reference, split: split,
                                features: features, outputs: outputs, labels: labels, embeddings: .fit(embeddings), acquisition: acquisition)
    }

    /// Stores `profile` with its version (JSON in the artifact store, its digest in the `lumen.reference` tag).
    public static func save(_ profile: ReferenceProfile, store: any Store, workspace: Workspace) async throws {
        let (sha, _) = try ArtifactStore(root: workspace.artifactRoot).put(try profile.encoded())
        try await store.setModelVersionTag(name: profile.model, version: profile.version, key: ReferenceProfile.tag, value: sha)
    }

    /// The profile stored with a version, if any.
    public static func load(_ version: ModelVersion, workspace: Workspace) throws -> ReferenceProfile? {
        guard let sha = version.tags[ReferenceProfile.tag] else { return nil }
        let url = try ArtifactStore(root: workspace.artifactRoot).url(for: sha)
        return try ReferenceProfile.decode(Data(contentsOf: url))
    }
}
