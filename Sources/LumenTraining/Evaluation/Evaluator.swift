import Foundation
import LumenData
import LumenImaging
import LumenNN
import LumenStore
import LumenTensor

/// A registered model made ready to predict: its weights, the config it was trained with, its classes
/// and the preprocessing stored with the version.
public struct LoadedModel {
    public let version: ModelVersion
    public let config: ExperimentConfig
    public let classes: [String]
    public let preprocessing: Pipeline
    public let model: any Module
    /// "classification", "multi-label" or "segmentation" (the training run's `lumen.task` tag).
    public let task: String
}

/// Evaluates registered classifiers on dataset versions and records the result as a run.
public enum Evaluator {
    /// Reports as JSON: indented, keys sorted, NaN and infinities as strings (a metric of an absent class is NaN).
    public static var reportEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    /// Resolves `NAME@ALIAS`, `NAME/VERSION` or `NAME` (the latest version) and loads its best checkpoint.
    public static func load(_ reference: String, store: any Store, workspace: Workspace) async throws -> LoadedModel {
        let version: ModelVersion
        if let at = reference.firstIndex(of: "@") {
            version = try await store.modelVersion(name: String(reference[..<at]), alias: String(reference[reference.index(after: at)...]))
        } else if let slash = reference.lastIndex(of: "/"), let n = Int64(reference[reference.index(after: slash)...]) {
            version = try await store.modelVersion(name: String(reference[..<slash]), version: n)
        } else {
            guard let latest = try await store.modelVersions(name: reference, runID: nil).max(by: { $0.version < $1.version }) else {
                throw TrainingError.data("model '\(reference)' has no versions (lumen models list)")
            }
            version = latest
        }
        guard let runID = version.runID else { throw TrainingError.data("\(version.name) version \(version.version) has no source run to rebuild the model from") }
        let run = try await store.run(id: runID)
        let config = try ExperimentConfig(yaml: "", source: "run \(runID)", overrides: run.params.filter { !$0.value.isEmpty }.map { "\($0.key)=\($0.value)" })
        let classes = (run.tags["lumen.classes"] ?? "").split(separator: ",").map(String.init)
        let task = run.tags["lumen.task"] ?? (config.model == "unet" ? "segmentation" : "classification")
        guard classes.count >= (task == "multi-label" ? 1 : 2) else { throw TrainingError.data("run \(runID) does not record its classes (tag lumen.classes)") }
        let preprocessing: Pipeline
        if let spec = version.preprocessing, let data = spec.data(using: .utf8), let pipeline = try? JSONDecoder().decode(Pipeline.self, from: data) {
            preprocessing = pipeline
        } else {
            preprocessing = try Trainer(config: config, workspace: workspace, store: store).makePipelines().eval
        }
        let path = "\(run.info.experimentID)/\(runID)/artifacts/checkpoints/best.safetensors"
        guard let entry = try await store.artifact(path: path), let sha = entry.sha256 else {
            throw TrainingError.data("the checkpoint of \(version.name) version \(version.version) (\(path)) is not in the artifact store")
        }
        let model = try Trainer(config: config, workspace: workspace, store: store).makeModel(classes: classes.count)
        _ = try model.load(from: ArtifactStore(root: workspace.artifactRoot).url(for: sha), strict: true)
        model.eval()
        return LoadedModel(version: version, config: config, classes: classes, preprocessing: preprocessing, model: model, task: task)
    }

    /// Predicts every image of `split` of `dataset` and computes the report.
    public static func evaluate(_ loaded: LoadedModel, dataset: String, split: String?, workspace: Workspace,
                                targetSensitivity: Double? = nil, bootstrap: Int = 1000, positive: String? = nil) throws -> ClassificationReport {
        let positiveIndex = try Trainer.positiveIndex(positive ?? loaded.config.positiveClass, classes: loaded.classes, option: positive != nil ? "--positive" : "data.positive_class")
        let repository = DatasetRepository(workspace: workspace)
        var version = try repository.resolve(dataset)
        if let threshold = loaded.config.labelThreshold {
            for i in version.entries.indices {
                guard let v = version.entries[i].label.flatMap(Double.init) else { throw TrainingError.data("\(version.entries[i].path): label is not a number") }
                version.entries[i].label = v >= threshold ? "1" : "0"
            }
        }
        let unknown = Set(version.entries(in: split).compactMap(\.label)).subtracting(loaded.classes)
        guard unknown.isEmpty else { throw TrainingError.data("\(version.reference) has labels the model does not know: \(unknown.sorted().joined(separator: ", ")) (model classes: \(loaded.classes.joined(separator: ", ")))") }
        var options = LoaderOptions()
        options.shuffle = false
        options.batchSize = 32
        options.workers = loaded.config.workers
        let loader = try DataLoader(version: version, split: split, repository: repository, pipeline: loaded.preprocessing, options: options, classes: loaded.classes)
        var predictions: [Prediction] = []
        let batches = loader.epoch(0)
        while let batch = try batches.nextBatch() {
            guard let targets = batch.targets else { throw TrainingError.data("evaluation needs labelled images") }
            let p = try withNoGrad { () throws(LumenError) -> [Double] in try loaded.model(batch.images).softmax(dim: 1).doubles() }
            let k = loaded.classes.count
            for (i, y) in try targets.int64s().enumerated() {
                predictions.append(Prediction(path: batch.paths[i], label: Int(y), probabilities: Array(p[i * k..<(i + 1) * k])))
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
            let window = loaded.config.window.flatMap { try? WindowPreset.parse($0) }
            for p in report.predictions.sorted(by: { $0.probabilities[$0.label] < $1.probabilities[$1.label] }).prefix(12) {
                guard let entry = byPath[p.path], let image = try? ImageReader.read(repository.bytes(entry.sha256), source: p.path) else { continue }
                // The model's input with the Grad-CAM of the true class over it; the plain image if that fails.
                if let plane = try? loaded.preprocessing.apply(Plane(image, slice: image.depth / 2)),
                   let input = try? Tensor(plane.channelsFirst(), shape: [1, plane.channels, plane.height, plane.width]),
                   let cam = try? GradCAM.heatmap(loaded.model, input: input, target: p.label) {
                    let grey = stride(from: 0, to: plane.values.count, by: plane.channels).map { plane.values[$0] }
                    let rgb = GradCAM.overlay(image: grey, map: cam.map, width: cam.width, height: cam.height)
                    thumbnails[p.path] = try? ImageWriter.encode(".png", data: rgb, width: cam.width, height: cam.height, channels: 3, type: .uint8)
                } else {
                    thumbnails[p.path] = try? ImageWriter.png(image, window: window ?? image.window, slice: image.depth / 2)
                }
            }
        }
        return HTMLReport.render(report, title: "\(loaded.version.name) version \(loaded.version.version) on \(dataset) [\(split ?? "all")]", curves: curves, thumbnails: thumbnails)
    }
}

