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
    /// Acquisition features (`InputFeatures.acquisition`: modality, manufacturer, kVp, slice thickness, pixel
    /// spacing, size, bit depth, format, sex, age band), one value per image ("" where an image has none).
    public var acquisition: [String: [String]]?

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
                features: [String: [Double]], outputs: [String: [Double]], labels: [String], embeddings: EmbeddingReference? = nil,
                acquisition: [String: [String]]? = nil) {
        self.model = model
        self.version = version
        self.dataset = dataset
        self.split = split
        self.created = created
        self.features = features
        self.outputs = outputs
        self.labels = labels
        self.embeddings = embeddings
        self.acquisition = acquisition
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
        /// Acquisition features by name, one value per prediction ("" where it has none).
        public var acquisition: [String: [String]] = [:]
        public init(features: [String: [Double]] = [:], outputs: [String: [Double]] = [:], labels: [String] = [], embeddings: [[Double]] = [],
                    acquisition: [String: [String]] = [:]) {
            self.features = features
            self.outputs = outputs
            self.labels = labels
            self.embeddings = embeddings
            self.acquisition = acquisition
        }

        /// How many predictions the window holds (shadow answers and gate refusals left out).
        public var count: Int { max(features.values.first?.count ?? 0, labels.count, embeddings.count) }
    }

    /// The current window in the reference's terms, from prediction logs' JSON (`features`, `outputs`)
    /// and the model's classes: features by name, `p_<class>` outputs, predicted labels, embeddings.
    public static func window(features: [String], outputs: [String], classes: [String]) -> Window {
        var f: [String: [Double]] = [:], o: [String: [Double]] = [:], labels: [String] = [], embeddings: [[Double]] = []
        var acquisition: [String: [String]] = [:], count = 0
        for (featureText, outputText) in zip(features, outputs) {
            guard let out = try? JSONSerialization.jsonObject(with: Data(outputText.utf8)) as? [String: Any],
                  let probabilities = out["probabilities"] as? [NSNumber], (out["route"] as? String) != "shadow" else { continue }
            if let feats = try? JSONSerialization.jsonObject(with: Data(featureText.utf8)) as? [String: Any] {
                for (k, v) in feats {
                    if let d = (v as? NSNumber)?.doubleValue ?? (v as? String).flatMap(Double.init), k.hasPrefix("intensity_") { f[k, default: []].append(d) }
                }
                if let e = feats["embedding"] as? [NSNumber], !e.isEmpty { embeddings.append(e.map(\.doubleValue)) }
                for k in Self.acquisitionNames {
                    if let v = feats[k] as? String { acquisition[k, default: Array(repeating: "", count: count)].append(v) } else { acquisition[k]?.append("") }
                }
                count += 1
            }
            for (i, p) in probabilities.enumerated() where i < classes.count { o["p_" + classes[i], default: []].append(p.doubleValue) }
            if let top = (out["labels"] as? [NSNumber])?.first?.intValue, top < classes.count { labels.append(classes[top]) }
        }
        return Window(features: f, outputs: o, labels: labels, embeddings: embeddings, acquisition: acquisition)
    }

    /// Drift of a window's embeddings against the reference's (nil without embeddings on either side).
    public func embeddingDrift(_ window: Window) -> EmbeddingDrift? {
        guard let reference = embeddings, let k = reference.rows.first?.count else { return nil }
        let rows = window.embeddings.filter { $0.count == k }
        return EmbeddingDrift.compare(reference: reference.rows, current: rows)
    }

    static let acquisitionNames = ["acq_kvp", "acq_slice_thickness", "acq_pixel_spacing", "img_width", "img_height", "img_bits",
                                   "acq_modality", "acq_manufacturer", "img_format", "patient_sex", "patient_age_band"]

    /// Drift of a window against this reference: every feature and output, the predicted-label mix and the
    /// acquisition features. An acquisition feature with one and the same value on both sides (every image
    /// a 512 × 512 PNG) says nothing and is left out; a new value (another modality, scanner or size) is drift.
    public func drift(_ window: Window, usePSI: Bool = false) -> DriftReport {
        var numbers = features.merging(outputs) { a, _ in a }, currentNumbers = window.features.merging(window.outputs) { a, _ in a }
        var categories: [String: [String]] = labels.isEmpty ? [:] : ["predicted_label": labels]
        var currentCategories: [String: [String]] = window.labels.isEmpty ? [:] : ["predicted_label": window.labels]
        for (name, ref) in acquisition ?? [:] {
            guard let cur = window.acquisition[name] else { continue }
            let refValues = ref.filter { !$0.isEmpty }, curValues = cur.filter { !$0.isEmpty }
            guard !refValues.isEmpty || !curValues.isEmpty else { continue }
            let distinct = Set(refValues + curValues)
            if distinct.count == 1 && refValues.count == ref.count && curValues.count == cur.count { continue }
            let refNumbers = refValues.compactMap(Double.init), curNumbers = curValues.compactMap(Double.init)
            if refNumbers.count == refValues.count && curNumbers.count == curValues.count && !refNumbers.isEmpty && !curNumbers.isEmpty
                && refValues.count == ref.count && curValues.count == cur.count {
                numbers[name] = refNumbers
                currentNumbers[name] = curNumbers
            } else {
                categories[name] = ref.map { $0.isEmpty ? "(none)" : $0 }
                currentCategories[name] = cur.map { $0.isEmpty ? "(none)" : $0 }
            }
        }
        return DriftReport.compare(reference: numbers, current: currentNumbers, referenceCategories: categories,
                                   currentCategories: currentCategories, usePSI: usePSI)
    }

    /// Drift of a window given by its parts (no acquisition features).
    public func drift(features current: [String: [Double]], outputs currentOutputs: [String: [Double]], labels currentLabels: [String],
                      usePSI: Bool = false) -> DriftReport {
        drift(Window(features: current, outputs: currentOutputs, labels: currentLabels), usePSI: usePSI)
    }
}
