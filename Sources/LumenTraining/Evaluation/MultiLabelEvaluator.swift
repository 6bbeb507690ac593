import Foundation
import LumenData
import LumenNN
import LumenStore
import LumenTensor
import LumenWorkspace

extension Evaluator {
    /// Predicts every image of `split` with a multi-label model (sigmoid per label) and computes the report.
    public static func evaluateMultiLabel(_ loaded: LoadedModel, dataset: String, split: String?, workspace: Workspace, threshold: Double = 0.5,
                                          progress: ((Int, Int) -> Void)? = nil) throws -> MultiLabelReport {
        let repository = DatasetRepository(workspace: workspace)
        let version = try resolve(dataset, for: loaded, repository: repository)
        let unknown = Set(version.entries(in: split).flatMap(\.labels)).subtracting(loaded.classes)
        guard unknown.isEmpty else { throw TrainingError.data("\(version.reference) has labels the model does not know: \(unknown.sorted().joined(separator: ", ")) (model labels: \(loaded.classes.joined(separator: ", ")))") }
        let loader = try loader(version, split: split, loaded: loaded, repository: repository, batchSize: 32, multiLabel: true)
        var predictions: [MultiLabelPrediction] = []
        let k = loaded.classes.count
        try loaded.predictor.run(loader, progress: progress) { batch, output in
            guard let targets = batch.targets else { throw TrainingError.data("evaluation needs labelled images (\(batch.paths.first ?? "?") has none)") }
            let truth = try targets.floats()
            for (i, p) in output.predictions.enumerated() {
                predictions.append(MultiLabelPrediction(path: batch.paths[i], labels: truth[i * k..<(i + 1) * k].map { $0 >= 0.5 ? 1 : 0 }, probabilities: p.probabilities))
            }
        }
        return MultiLabelReport(classes: loaded.classes, predictions: predictions, threshold: threshold)
    }

    /// Logs a multi-label report as an evaluation run and returns its id with the HTML.
    public static func record(_ report: MultiLabelReport, of loaded: LoadedModel, dataset: String, split: String?, store: any Store, workspace: Workspace) async throws -> (runID: String, html: String) {
        var metrics: [String: Double] = ["macro_auc": report.macroAUC, "macro_average_precision": report.macroAveragePrecision, "macro_f1": report.macroF1,
                                         "micro_f1": report.microF1, "subset_accuracy": report.subsetAccuracy, "hamming_loss": report.hammingLoss]
        for l in report.perLabel { metrics["auc_\(l.name)"] = l.rocAUC; metrics["f1_\(l.name)"] = l.f1 }
        var curves: [String: [Double]] = [:]
        if let runID = loaded.version.runID {
            for key in ["train_loss", "val_loss", "val_auc"] {
                curves[key] = try await store.metricHistory(runID: runID, key: key).sorted { $0.step < $1.step }.map(\.value)
            }
        }
        let html = HTMLReport.render(report, title: "\(loaded.version.name) version \(loaded.version.version) on \(dataset) [\(split ?? "all")]", curves: curves)
        let encoder = Evaluator.reportEncoder
        let id = try await recordRun(metrics: metrics, json: try encoder.encode(report), html: html, of: loaded, dataset: dataset, split: split, store: store, workspace: workspace)
        return (id, html)
    }
}

extension HTMLReport {
    /// A multi-label report: summary, per-label table and one ROC and PR curve per label.
    public static func render(_ r: MultiLabelReport, title: String, curves: [String: [Double]]) -> String {
        func f(_ v: Double) -> String { v.isNaN ? "n/a" : String(format: "%.3f", v) }
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>\(escape(title))</title><style>\(style)</style></head><body><h1>\(escape(title))</h1>
        <p>\(r.samples) images, \(r.classes.count) labels, decisions at probability ≥ \(f(r.threshold)).</p>
        <table><tr><td>Macro ROC-AUC</td><td>\(f(r.macroAUC))</td></tr><tr><td>Macro average precision</td><td>\(f(r.macroAveragePrecision))</td></tr>
        <tr><td>Micro F1</td><td>\(f(r.microF1))</td></tr><tr><td>Macro F1</td><td>\(f(r.macroF1))</td></tr>
        <tr><td>Subset accuracy (every label right)</td><td>\(f(r.subsetAccuracy))</td></tr><tr><td>Hamming loss</td><td>\(f(r.hammingLoss))</td></tr></table>
        <h2>Per label</h2><table><tr><th>label</th><th>ROC-AUC</th><th>AP</th><th>precision</th><th>recall</th><th>F1</th><th>support</th></tr>
        \(r.perLabel.map { "<tr><td>\(escape($0.name))</td><td>\(f($0.rocAUC))</td><td>\(f($0.averagePrecision))</td><td>\(f($0.precision))</td><td>\(f($0.recall))</td><td>\(f($0.f1))</td><td>\($0.support)</td></tr>" }.joined())
        </table><h2>Charts</h2><div class="charts">
        """
        var roc: [(String, [(Double, Double)])] = [], pr: [(String, [(Double, Double)])] = []
        for (c, name) in r.classes.enumerated() {
            let scores = r.predictions.map { $0.probabilities[c] }, truth = r.predictions.map { $0.labels[c] == 1 }
            roc.append((name, rocPoints(scores, truth)))
            pr.append((name, prPoints(scores, truth)))
        }
        html += figure(lineChart(roc, xLabel: "1 − specificity", yLabel: "sensitivity", diagonal: true), "ROC curve per label (macro AUC \(f(r.macroAUC)))")
        html += figure(lineChart(pr, xLabel: "recall", yLabel: "precision", diagonal: false), "Precision–recall curve per label")
        html += trainingCurves(curves)
        return html + "</div></body></html>\n"
    }
}
