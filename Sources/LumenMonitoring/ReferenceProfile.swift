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

    public static let tag = "lumen.reference"

    public init(model: String, version: Int64, dataset: String, split: String, created: Date = Date(),
                features: [String: [Double]], outputs: [String: [Double]], labels: [String]) {
        self.model = model
        self.version = version
        self.dataset = dataset
        self.split = split
        self.created = created
        self.features = features
        self.outputs = outputs
        self.labels = labels
    }

    /// The current window in the reference's terms, from prediction logs' JSON (`features`, `outputs`)
    /// and the model's classes: features by name, `p_<class>` outputs, predicted labels.
    public static func window(features: [String], outputs: [String], classes: [String]) -> (features: [String: [Double]], outputs: [String: [Double]], labels: [String]) {
        var f: [String: [Double]] = [:], o: [String: [Double]] = [:], labels: [String] = []
        for (featureText, outputText) in zip(features, outputs) {
            guard let out = try? JSONSerialization.jsonObject(with: Data(outputText.utf8)) as? [String: Any],
                  let probabilities = out["probabilities"] as? [NSNumber], (out["route"] as? String) != "shadow" else { continue }
            if let feats = try? JSONSerialization.jsonObject(with: Data(featureText.utf8)) as? [String: Any] {
                for (k, v) in feats {
                    if let d = (v as? NSNumber)?.doubleValue ?? (v as? String).flatMap(Double.init), k.hasPrefix("intensity_") { f[k, default: []].append(d) }
                }
            }
            for (i, p) in probabilities.enumerated() where i < classes.count { o["p_" + classes[i], default: []].append(p.doubleValue) }
            if let top = (out["labels"] as? [NSNumber])?.first?.intValue, top < classes.count { labels.append(classes[top]) }
        }
        return (f, o, labels)
    }

    /// Drift of a window against this reference: every feature and output, and the predicted-label mix.
    public func drift(features current: [String: [Double]], outputs currentOutputs: [String: [Double]], labels currentLabels: [String],
                      usePSI: Bool = false) -> DriftReport {
        DriftReport.compare(reference: features.merging(outputs) { a, _ in a }, current: current.merging(currentOutputs) { a, _ in a },
                            referenceCategories: labels.isEmpty ? [:] : ["predicted_label": labels],
                            currentCategories: currentLabels.isEmpty ? [:] : ["predicted_label": currentLabels], usePSI: usePSI)
    }
}
