import Foundation
import LumenData
import LumenImaging
import LumenNN
import LumenStore
import LumenTensor
import LumenWorkspace

/// One badly segmented image, drawn for the report: the input with the true outline in green and the
/// predicted one in red.
public struct SegmentationExample: Sendable {
    public var path: String
    public var dice: Double
    public var png: [UInt8]
}

extension Evaluator {
    /// Segments every image of `split` and computes Dice, IoU, HD95 and pixel accuracy per class; keeps the
    /// `worst` images (lowest foreground Dice) drawn for the report. With `saveMasks`, every predicted label
    /// map is written there as an 8-bit PNG of class indices, at the dataset path plus `.png`.
    public static func evaluateSegmentation(_ loaded: LoadedModel, dataset: String, split: String?, workspace: Workspace,
                                            worst: Int = 8, saveMasks: URL? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> (report: SegmentationReport, worst: [SegmentationExample]) {
        let repository = DatasetRepository(workspace: workspace)
        let version = try repository.resolve(dataset)
        let entries = version.entries(in: split)
        guard !entries.isEmpty else { throw TrainingError.data("\(version.reference) has no images in split '\(split ?? "all")'") }
        if let unmasked = entries.first(where: { $0.maskSHA256 == nil }) { throw TrainingError.data("\(unmasked.path) has no mask: segmentation is evaluated against masks") }
        let loader = try loader(version, split: split, loaded: loaded, repository: repository, batchSize: 16)
        var maps: [(path: String, predicted: [Int], truth: [Int], width: Int, height: Int)] = []
        var kept: [(dice: Double, path: String, grey: [Float], predicted: [Int], truth: [Int], width: Int, height: Int)] = []
        let k = loaded.classes.count
        try loaded.predictor.run(loader, progress: progress) { batch, output in
            guard let masks = batch.masks else { throw TrainingError.data("\(batch.paths.first ?? "an image") has no mask") }
            let truth = try masks.int64s()
            let pixels = try batch.images.floats()
            let n = batch.images.shape[0], c = batch.images.shape[1], h = masks.shape[1], w = masks.shape[2]
            for i in 0..<n {
                let range = i * h * w..<(i + 1) * h * w
                let p = output.predictions[i].mask?.classes ?? [], t = truth[range].map { Int($0) }
                maps.append((batch.paths[i], p, t, w, h))
                if let saveMasks {
                    let file = saveMasks.appendingPathComponent(batch.paths[i] + ".png")
                    try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(ImageWriter.encode(".png", data: p.map { UInt8(clamping: $0) }, width: w, height: h, channels: 1, type: .uint8)).write(to: file)
                }
                let fg = (1..<k).map { SegmentationMetrics.dice(p, t, class: $0) }.filter { !$0.isNaN }
                let dice = fg.isEmpty ? 1 : fg.reduce(0, +) / Double(fg.count)
                if kept.count < worst || dice < (kept.last?.dice ?? .infinity) {
                    let start = i * c * h * w
                    kept.append((dice, batch.paths[i], Array(pixels[start..<start + h * w]), p, t, w, h))
                    kept.sort { $0.dice < $1.dice }
                    if kept.count > worst { kept.removeLast() }
                }
            }
        }
        let report = SegmentationReport(classNames: loaded.classes, maps: maps)
        let examples = kept.compactMap { e -> SegmentationExample? in
            guard let png = try? overlay(grey: e.grey, predicted: e.predicted, truth: e.truth, width: e.width, height: e.height) else { return nil }
            return SegmentationExample(path: e.path, dice: e.dice, png: png)
        }
        return (report, examples)
    }

    /// The image in grey with the outlines of the foreground classes: truth green, prediction red, both yellow.
    static func overlay(grey: [Float], predicted: [Int], truth: [Int], width: Int, height: Int) throws -> [UInt8] {
        let lo = grey.min() ?? 0, hi = grey.max() ?? 1
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let v = UInt8(max(0, min(255, (grey[i] - lo) / max(hi - lo, 1e-6) * 255)))
            rgb[3 * i] = v; rgb[3 * i + 1] = v; rgb[3 * i + 2] = v
        }
        let classes = Set(predicted + truth).subtracting([0])
        for c in classes {
            for (x, y) in SegmentationMetrics.surface(truth.map { $0 == c }, width: width, height: height) {
                let i = 3 * (y * width + x); rgb[i] = 0; rgb[i + 1] = 255; rgb[i + 2] = 0
            }
            for (x, y) in SegmentationMetrics.surface(predicted.map { $0 == c }, width: width, height: height) {
                let i = 3 * (y * width + x); rgb[i] = 255; rgb[i + 2] = 0
                if rgb[i + 1] != 255 { rgb[i + 1] = 0 }
            }
        }
        return try ImageWriter.encode(".png", data: rgb, width: width, height: height, channels: 3, type: .uint8)
    }

    /// Logs a segmentation report as an evaluation run (metrics, lineage, `evaluation/report.json` and
    /// `evaluation/report.html`) and returns its id with the HTML.
    public static func record(_ report: SegmentationReport, worst: [SegmentationExample], of loaded: LoadedModel, dataset: String, split: String?,
                              store: any Store, workspace: Workspace) async throws -> (runID: String, html: String) {
        var metrics: [String: Double] = ["mean_dice": report.meanForegroundDice, "mean_iou": report.meanForegroundIoU, "pixel_accuracy": report.pixelAccuracy]
        for c in report.classes {
            metrics["dice_\(c.name)"] = c.meanDice; metrics["iou_\(c.name)"] = c.meanIoU; metrics["hd95_\(c.name)"] = c.meanHD95
        }
        var curves: [String: [Double]] = [:]
        if let runID = loaded.version.runID {
            for key in ["train_loss", "val_loss", "val_dice"] {
                curves[key] = try await store.metricHistory(runID: runID, key: key).sorted { $0.step < $1.step }.map(\.value)
            }
        }
        let html = HTMLReport.render(report, title: "\(loaded.version.name) version \(loaded.version.version) on \(dataset) [\(split ?? "all")]", curves: curves,
                                     worst: worst.map { ($0.path, $0.dice, $0.png) })
        let encoder = Evaluator.reportEncoder
        let id = try await recordRun(metrics: metrics, json: try encoder.encode(report), html: html, of: loaded, dataset: dataset, split: split, store: store, workspace: workspace)
        return (id, html)
    }

    /// An evaluation run in the `evaluation` experiment with its metrics, lineage and report artifacts.
    static func recordRun(metrics: [String: Double], json: Data, html: String, of loaded: LoadedModel, dataset: String, split: String?,
                          store: any Store, workspace: Workspace) async throws -> String {
        let experiment = try await store.experimentCreatingIfNeeded(named: "evaluation")
        let run = try await store.createRun(experimentID: experiment.id, name: "\(loaded.version.name)-v\(loaded.version.version)-\(split ?? "all")",
                                            startTime: nil, tags: ["lumen.evaluates": "\(loaded.version.name)/\(loaded.version.version)", "lumen.dataset": dataset],
                                            parentRunID: nil)
        let id = run.info.runID
        try await store.logBatch(runID: id, metrics: metrics.filter { !$0.value.isNaN }.map { Metric(key: $0.key, value: $0.value, timestamp: Clock.nowMillis(), step: 0) },
                                 params: [Param(key: "model", value: "\(loaded.version.name)/\(loaded.version.version)"), Param(key: "dataset", value: dataset), Param(key: "split", value: split ?? "all")], tags: [])
        let parts = dataset.split(separator: ":", maxSplits: 1).map(String.init)
        if parts.count == 2 { try await store.linkDatasets(runID: id, [DatasetUse(dataset: parts[0], version: parts[1], context: "evaluation")]) }
        let artifacts = ArtifactStore(root: workspace.artifactRoot)
        let (sha, size) = try artifacts.put(json)
        try await store.recordArtifact(path: "\(experiment.id)/\(id)/artifacts/evaluation/report.json", sha256: sha, size: size)
        let (htmlSHA, htmlSize) = try artifacts.put(Data(html.utf8))
        try await store.recordArtifact(path: "\(experiment.id)/\(id)/artifacts/evaluation/report.html", sha256: htmlSHA, size: htmlSize)
        _ = try await store.updateRun(id: id, status: .finished, endTime: Clock.nowMillis(), name: nil)
        return id
    }
}
