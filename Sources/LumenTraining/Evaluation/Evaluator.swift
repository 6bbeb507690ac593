import Foundation
import LumenData
import LumenImaging
import LumenNN
import LumenStore
import LumenTensor
import LumenWorkspace

/// Evaluates registered models on dataset versions and records the result as a run.
public enum Evaluator {
    /// Reports as JSON: indented, keys sorted, NaN and infinities as strings (a metric of an absent class is NaN).
    public static var reportEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    /// The dataset version with the model's label threshold applied (numeric labels to classes 0/1).
    static func resolve(_ dataset: String, for loaded: LoadedModel, repository: DatasetRepository) throws -> DatasetVersion {
        var version = try repository.resolve(dataset)
        if let threshold = loaded.spec.labelThreshold {
            for i in version.entries.indices {
                guard let v = version.entries[i].label.flatMap(Double.init) else { throw TrainingError.data("\(version.entries[i].path): label is not a number") }
                version.entries[i].label = v >= threshold ? "1" : "0"
            }
        }
        return version
    }

    /// A loader over `split` in order, with the model's own preprocessing.
    static func loader(_ version: DatasetVersion, split: String?, loaded: LoadedModel, repository: DatasetRepository, batchSize: Int, multiLabel: Bool = false) throws -> DataLoader {
        var options = LoaderOptions()
        options.shuffle = false
        options.batchSize = batchSize
        options.multiLabel = multiLabel
        return try DataLoader(version: version, split: split, repository: repository, pipeline: loaded.preprocessing, options: options,
                              classes: loaded.segments ? [] : loaded.classes)
    }

    /// Predicts every image of `split` of `dataset` and computes the report.
    public static func evaluate(_ loaded: LoadedModel, dataset: String, split: String?, workspace: Workspace,
                                targetSensitivity: Double? = nil, bootstrap: Int = 1000, positive: String? = nil,
                                progress: ((Int, Int) -> Void)? = nil) throws -> ClassificationReport {
        let positiveIndex = try Trainer.positiveIndex(positive ?? loaded.spec.positiveClass, classes: loaded.classes, option: positive != nil ? "--positive" : "data.positive_class")
        let repository = DatasetRepository(workspace: workspace)
        let version = try resolve(dataset, for: loaded, repository: repository)
        let unknown = Set(version.entries(in: split).compactMap(\.label)).subtracting(loaded.classes)
        guard unknown.isEmpty else { throw TrainingError.data("\(version.reference) has labels the model does not know: \(unknown.sorted().joined(separator: ", ")) (model classes: \(loaded.classes.joined(separator: ", ")))") }
        let loader = try loader(version, split: split, loaded: loaded, repository: repository, batchSize: 32)
        var predictions: [ScoredImage] = []
        try loaded.predictor.run(loader, progress: progress) { batch, output in
            guard let targets = batch.targets else { throw TrainingError.data("evaluation needs labelled images (\(batch.paths.first ?? "?") has none)") }
            for (i, y) in try targets.int64s().enumerated() {
                predictions.append(ScoredImage(path: batch.paths[i], label: Int(y), probabilities: output.predictions[i].probabilities))
            }
        }
        return ClassificationReport(classes: loaded.classes, predictions: predictions, targetSensitivity: targetSensitivity, bootstrap: bootstrap, positive: positiveIndex)
    }

    /// Logs the report as an evaluation run (metrics, lineage, `evaluation/report.json` and
    /// `evaluation/report.html`) and returns its id with the HTML.
    public static func record(_ report: ClassificationReport, of loaded: LoadedModel, dataset: String, split: String?, store: any Store, workspace: Workspace) async throws -> (runID: String, html: String) {
        var metrics: [String: Double] = ["accuracy": report.accuracy, "balanced_accuracy": report.balancedAccuracy, "roc_auc": report.rocAUC,
                                         "pr_auc": report.prAUC, "ece": report.expectedCalibrationError]
        for (k, v) in report.macro { metrics["macro_\(k)"] = v }
        for (name, e) in report.confidenceIntervals { metrics["\(name)_ci_low"] = e.low; metrics["\(name)_ci_high"] = e.high }
        if let t = report.threshold { metrics["threshold"] = t.threshold; metrics["threshold_sensitivity"] = t.sensitivity; metrics["threshold_specificity"] = t.specificity }
        let html = try await self.html(report, of: loaded, dataset: dataset, split: split, store: store, workspace: workspace)
        let id = try await recordRun(metrics: metrics, json: try reportEncoder.encode(report), html: html, of: loaded, dataset: dataset, split: split, store: store, workspace: workspace)
        return (id, html)
    }

    /// The HTML report: the source run's training curves and the worst-predicted images as thumbnails.
    static func html(_ report: ClassificationReport, of loaded: LoadedModel, dataset: String, split: String?, store: any Store, workspace: Workspace) async throws -> String {
        var curves: [String: [Double]] = [:]
        if let runID = loaded.version.runID {
            for key in ["train_loss", "val_loss", "val_accuracy", "val_auc"] {
                curves[key] = try await store.metricHistory(runID: runID, key: key).sorted { $0.step < $1.step }.map(\.value)
            }
        }
        var thumbnails: [String: [UInt8]] = [:]
        let repository = DatasetRepository(workspace: workspace)
        if let version = try? repository.resolve(dataset) {
            let byPath = Dictionary(version.entries.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            let window = loaded.window
            for p in report.predictions.sorted(by: { $0.probabilities[$0.label] < $1.probabilities[$1.label] }).prefix(12) {
                guard let entry = byPath[p.path], let image = try? ImageReader.read(repository.bytes(entry.sha256), source: p.path) else { continue }
                // The model's input with the Grad-CAM of the true class over it; the plain image if that fails.
                if let cam = try? loaded.predictor.gradCAM(image, target: p.label), let png = try? cam.heatmap.overlayPNG(on: cam.input) {
                    thumbnails[p.path] = png
                } else {
                    thumbnails[p.path] = try? ImageWriter.png(image, window: window ?? image.window, slice: image.depth / 2)
                }
            }
        }
        return HTMLReport.render(report, title: "\(loaded.version.name) version \(loaded.version.version) on \(dataset) [\(split ?? "all")]", curves: curves, thumbnails: thumbnails)
    }
}

