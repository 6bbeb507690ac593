import Foundation

/// What a model version's inputs and outputs looked like on its training data: the monitoring features
/// of each image (as the server logs them), the predicted probabilities per class and the predicted
/// labels. Stored with the version (tag `lumen.reference` → JSON in the artifact store); `lumen monitor`
/// compares a window of logged predictions with it.
public struct ReferenceProfile: Codable, Sendable, Equatable {
    public var model: String
    public var version: Int64
    /// The dataset version and split it was computed on.
    public var dataset: String
    public var split: String
    public var created: Date
    /// Per feature, one value per image (`InputFeatures.names`).
    public var features: [String: [Double]]
    /// `p_<class>`: the predicted probability of each class, one value per image.
    public var outputs: [String: [Double]]
    /// The predicted (top) label of each image.
    public var labels: [String]
    /// The penultimate-layer embeddings: the PCA fitted on them and each image in its components.
    public var embeddings: EmbeddingReference?

    /// A PCA of the training embeddings and the reference images' coordinates in it.
    public struct EmbeddingReference: Codable, Sendable, Equatable {
        public var pca: PCA
        /// One row of components per reference image.
        public var rows: [[Double]]
        public init(pca: PCA, rows: [[Double]]) {
            self.pca = pca
            self.rows = rows
        }

        /// At most this many components are kept (fewer when the embeddings or the images are fewer).
        public static let components = 20

        /// Fits the PCA on `embeddings` (one per image) and projects them.
        public static func fit(_ embeddings: [[Float]]) -> EmbeddingReference? {
            guard embeddings.count >= 10, let d = embeddings.first?.count, d > 0 else { return nil }
            let pca = PCA.fit(embeddings, components: min(components, d, embeddings.count - 1))
            guard !pca.components.isEmpty else { return nil }
            return EmbeddingReference(pca: pca, rows: embeddings.map { pca.project($0) })
        }
    }

    public static let tag = "lumen.reference"

    public init(model: String, version: Int64, dataset: String, split: String, created: Date = Date(),
                features: [String: [Double]], outputs: [String: [Double]], labels: [String], embeddings: EmbeddingReference? = nil) {
        self.model = model
        self.version = version
        self.dataset = dataset
        self.split = split
        self.created = created
        self.features = features
        self.outputs = outputs
        self.labels = labels
        self.embeddings = embeddings
    }

    /// A profile from its stored JSON.
    public static func decode(_ data: Data) throws -> ReferenceProfile {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(ReferenceProfile.self, from: data)
    }

    /// The stored JSON of a profile.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// A window of logged predictions in the reference's terms.
    public struct Window: Sendable {
        public var features: [String: [Double]] = [:]
        /// `p_<class>` per prediction.
        public var outputs: [String: [Double]] = [:]
        public var labels: [String] = []
        /// Each prediction's embedding in the reference's PCA components (those logged with one).
        public var embeddings: [[Double]] = []
        /// How many predictions the window holds (shadow answers and gate refusals left out).
        public var count: Int { max(features.values.first?.count ?? 0, labels.count, embeddings.count) }
    }

    /// The current window in the reference's terms, from prediction logs' JSON (`features`, `outputs`)
    /// and the model's classes: features by name, `p_<class>` outputs, predicted labels, embeddings.
    public static func window(features: [String], outputs: [String], classes: [String]) -> Window {
        var f: [String: [Double]] = [:], o: [String: [Double]] = [:], labels: [String] = [], embeddings: [[Double]] = []
        for (featureText, outputText) in zip(features, outputs) {
            guard let out = try? JSONSerialization.jsonObject(with: Data(outputText.utf8)) as? [String: Any],
                  let probabilities = out["probabilities"] as? [NSNumber], (out["route"] as? String) != "shadow" else { continue }
            if let feats = try? JSONSerialization.jsonObject(with: Data(featureText.utf8)) as? [String: Any] {
                for (k, v) in feats {
                    if let d = (v as? NSNumber)?.doubleValue ?? (v as? String).flatMap(Double.init), k.hasPrefix("intensity_") { f[k, default: []].append(d) }
                }
                if let e = feats["embedding"] as? [NSNumber], !e.isEmpty { embeddings.append(e.map(\.doubleValue)) }
            }
            for (i, p) in probabilities.enumerated() where i < classes.count { o["p_" + classes[i], default: []].append(p.doubleValue) }
            if let top = (out["labels"] as? [NSNumber])?.first?.intValue, top < classes.count { labels.append(classes[top]) }
        }
        return Window(features: f, outputs: o, labels: labels, embeddings: embeddings)
    }

    /// Drift of a window's embeddings against the reference's (nil without embeddings on either side).
    public func embeddingDrift(_ window: Window) -> EmbeddingDrift? {
        guard let reference = embeddings, let k = reference.rows.first?.count else { return nil }
        let rows = window.embeddings.filter { $0.count == k }
        return EmbeddingDrift.compare(reference: reference.rows, current: rows)
    }

    /// Drift of a window against this reference: every feature and output, and the predicted-label mix.
    public func drift(features current: [String: [Double]], outputs currentOutputs: [String: [Double]], labels currentLabels: [String],
                      usePSI: Bool = false) -> DriftReport {
        DriftReport.compare(reference: features.merging(outputs) { a, _ in a }, current: current.merging(currentOutputs) { a, _ in a },
                            referenceCategories: labels.isEmpty ? [:] : ["predicted_label": labels],
                            currentCategories: currentLabels.isEmpty ? [:] : ["predicted_label": currentLabels], usePSI: usePSI)
    }
}
