import Foundation

/// A single self-contained HTML evaluation report: metric table with confidence intervals, inline SVG
/// charts (ROC, precision–recall, confusion matrix, reliability diagram, training curves) and the
/// worst-predicted examples as inline PNG thumbnails. No script, no external file.
public enum HTMLReport {
    /// - Parameters:
    ///   - curves: training metric histories of the source run (`train_loss`, `val_loss`, `val_auc`, …) by epoch.
    ///   - thumbnails: PNG bytes of the worst-predicted images, by path.
    public static func render(_ r: ClassificationReport, title: String, curves: [String: [Double]], thumbnails: [String: [UInt8]]) -> String {
        func f(_ v: Double) -> String { v.isNaN ? "n/a" : String(format: "%.3f", v) }
        func ci(_ name: String, _ v: Double) -> String {
            r.confidenceIntervals[name].map { "\(f(v)) <small>(\(f($0.low))–\(f($0.high)))</small>" } ?? f(v)
        }
        var rows = [("Accuracy", ci("accuracy", r.accuracy)), ("Balanced accuracy", ci("balanced_accuracy", r.balancedAccuracy)),
                    ("ROC-AUC", ci("roc_auc", r.rocAUC)), ("PR-AUC (average precision)", f(r.prAUC)), ("Expected calibration error", f(r.expectedCalibrationError))]
        if r.classes.count == 2 {
            rows.append(("Sensitivity (\(escape(r.classes[r.positiveIndex])))", ci("sensitivity", r.perClass[r.positiveIndex].recall)))
            rows.append(("Specificity", ci("specificity", r.perClass[r.positiveIndex].specificity)))
        }
        if let t = r.threshold { rows.append(("Threshold (\(escape(t.method)))", "\(f(t.threshold)): sensitivity \(f(t.sensitivity)), specificity \(f(t.specificity))")) }
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>\(escape(title))</title><style>\(style)
        </style></head><body><h1>\(escape(title))</h1><p>\(r.samples) images, classes: \(r.classes.map(escape).joined(separator: ", ")). 95 % bootstrap intervals in brackets.</p>
        <table>\(rows.map { "<tr><td>\($0.0)</td><td>\($0.1)</td></tr>" }.joined())</table>
        <h2>Per class</h2><table><tr><th>class</th><th>precision</th><th>recall</th><th>specificity</th><th>F1</th><th>ROC-AUC</th><th>AP</th><th>support</th></tr>
        \(r.perClass.map { "<tr><td>\(escape($0.name))</td><td>\(f($0.precision))</td><td>\(f($0.recall))</td><td>\(f($0.specificity))</td><td>\(f($0.f1))</td><td>\(f($0.rocAUC))</td><td>\(f($0.averagePrecision))</td><td>\($0.support)</td></tr>" }.joined())
        </table><h2>Charts</h2><div class="charts">
        """
        let positive = r.classes.count == 2 ? [r.positiveIndex] : Array(r.classes.indices)
        var roc: [(String, [(Double, Double)])] = [], pr: [(String, [(Double, Double)])] = []
        for c in positive {
            let scores = r.predictions.map { $0.probabilities[c] }, truth = r.predictions.map { $0.label == c }
            roc.append((r.classes[c], rocPoints(scores, truth)))
            pr.append((r.classes[c], prPoints(scores, truth)))
        }
        html += figure(lineChart(roc, xLabel: "1 − specificity", yLabel: "sensitivity", diagonal: true), "ROC curve (AUC \(f(r.rocAUC)))")
        html += figure(lineChart(pr, xLabel: "recall", yLabel: "precision", diagonal: false), "Precision–recall curve (AP \(f(r.prAUC)))")
        html += figure(confusion(r), "Confusion matrix (rows: true class)")
        html += figure(lineChart([("model", r.calibrationBins.map { ($0[0], $0[1]) })], xLabel: "confidence", yLabel: "accuracy", diagonal: true, dots: true),
                       "Reliability diagram (ECE \(f(r.expectedCalibrationError)))")
        html += trainingCurves(curves)
        html += "</div>"
        let worst = r.predictions.sorted { $0.probabilities[$0.label] < $1.probabilities[$1.label] }.prefix(12)
        if !worst.isEmpty {
            html += "<h2>Worst-predicted images</h2><p>The model's input with the Grad-CAM of the true class (red: evidence the model used).</p><div class=\"thumbs\">"
            for p in worst {
                let image = thumbnails[p.path].map { "<img alt=\"\(escape(p.path))\" src=\"data:image/png;base64,\(Data($0).base64EncodedString())\">" } ?? ""
                let top = p.probabilities.indices.max { p.probabilities[$0] < p.probabilities[$1] } ?? 0
                html += "<figure>\(image)<figcaption>\(escape(p.path))<br>true \(escape(r.classes[p.label])) (p \(f(p.probabilities[p.label]))), predicted \(escape(r.classes[top]))</figcaption></figure>"
            }
            html += "</div>"
        }
        return html + "</body></html>\n"
    }

    /// The source run's metric histories on one chart, scaled by their maximum ("" without any).
    static func trainingCurves(_ curves: [String: [Double]]) -> String {
        let series = curves.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
        guard !series.isEmpty else { return "" }
        let maxY = max(series.flatMap(\.value).filter { $0.isFinite }.max() ?? 1, 1e-9)
        let epochs = Double(max(series.map(\.value.count).max() ?? 1, 2) - 1)
        let lines = series.map { s in (s.key, s.value.enumerated().map { (Double($0.offset) / epochs, $0.element / maxY) }) }
        return figure(lineChart(lines, xLabel: "epoch", yLabel: "value / \(String(format: "%.3f", maxY))", diagonal: false), "Training curves of the source run")
    }

    static let style = """
        body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
        table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}
        td:first-child,th:first-child{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:1.5em}figure{margin:0}figcaption{font-size:.9em;color:#555}
        .thumbs{display:flex;flex-wrap:wrap;gap:1em}.thumbs figure{width:150px}.thumbs img{width:150px;image-rendering:pixelated}
        """

    /// A segmentation report: per-class Dice, IoU and HD95, training curves, the worst images with
    /// the truth's outline in green and the prediction's in red.
    public static func render(_ r: SegmentationReport, title: String, curves: [String: [Double]], worst: [(path: String, dice: Double, png: [UInt8])]) -> String {
        func f(_ v: Double) -> String { v.isNaN ? "n/a" : String(format: "%.3f", v) }
        var html = """
        <!doctype html><html><head><meta charset="utf-8"><title>\(escape(title))</title><style>\(style)</style></head><body><h1>\(escape(title))</h1>
        <p>\(r.images.count) images. Means are over the images where a class is present in the truth or the prediction; pooled figures count all pixels together; HD95 in pixels.</p>
        <table><tr><td>Mean foreground Dice</td><td>\(f(r.meanForegroundDice))</td></tr><tr><td>Mean foreground IoU</td><td>\(f(r.meanForegroundIoU))</td></tr>
        <tr><td>Pixel accuracy</td><td>\(f(r.pixelAccuracy))</td></tr></table>
        <h2>Per class</h2><table><tr><th>class</th><th>Dice</th><th>IoU</th><th>HD95 mean</th><th>HD95 median</th><th>pooled Dice</th><th>pooled IoU</th><th>images</th></tr>
        \(r.classes.map { "<tr><td>\(escape($0.name))</td><td>\(f($0.meanDice))</td><td>\(f($0.meanIoU))</td><td>\(f($0.meanHD95))</td><td>\(f($0.medianHD95))</td><td>\(f($0.pooledDice))</td><td>\(f($0.pooledIoU))</td><td>\($0.images)</td></tr>" }.joined())
        </table><div class="charts">
        """
        html += figure(lineChart([("images", r.images.map { $0.dice.dropFirst().first ?? $0.dice[0] }.filter { !$0.isNaN }.sorted().enumerated().map { (Double($0.offset) / Double(max(r.images.count - 1, 1)), $0.element) })],
                                 xLabel: "fraction of images", yLabel: "Dice", diagonal: false, dots: true), "Per-image foreground Dice, sorted")
        html += trainingCurves(curves)
        html += "</div>"
        if !worst.isEmpty {
            html += "<h2>Worst-segmented images</h2><p>Green: the true outline; red: the predicted one.</p><div class=\"thumbs\">"
            for w in worst {
                html += "<figure><img alt=\"\(escape(w.path))\" src=\"data:image/png;base64,\(Data(w.png).base64EncodedString())\"><figcaption>\(escape(w.path))<br>Dice \(f(w.dice))</figcaption></figure>"
            }
            html += "</div>"
        }
        return html + "</body></html>\n"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func figure(_ svg: String, _ caption: String) -> String { "<figure>\(svg)<figcaption>\(escape(caption))</figcaption></figure>" }

    static func rocPoints(_ scores: [Double], _ truth: [Bool]) -> [(Double, Double)] {
        let p = Double(truth.filter { $0 }.count), n = Double(truth.count) - p
        guard p > 0, n > 0 else { return [] }
        var points = [(0.0, 0.0)]
        for t in Set(scores).sorted(by: >) {
            let tp = Double(zip(scores, truth).filter { $0.0 >= t && $0.1 }.count), fp = Double(zip(scores, truth).filter { $0.0 >= t && !$0.1 }.count)
            points.append((fp / n, tp / p))
        }
        return points
    }

    static func prPoints(_ scores: [Double], _ truth: [Bool]) -> [(Double, Double)] {
        let p = Double(truth.filter { $0 }.count)
        guard p > 0 else { return [] }
        return Set(scores).sorted(by: >).map { t in
            let tp = Double(zip(scores, truth).filter { $0.0 >= t && $0.1 }.count), all = Double(scores.filter { $0 >= t }.count)
            return (tp / p, tp / max(all, 1))
        }
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

    /// Lines in the unit square, 260 × 260 pixels with axes.
    static func lineChart(_ series: [(String, [(Double, Double)])], xLabel: String, yLabel: String, diagonal: Bool, dots: Bool = false) -> String {
        let size = 220.0, pad = 40.0
        func x(_ v: Double) -> Double { pad + max(0, min(1, v)) * size }
        func y(_ v: Double) -> Double { pad / 2 + (1 - max(0, min(1, v.isFinite ? v : 0))) * size }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(size + pad * 1.5))\" height=\"\(Int(size + pad * 1.5))\" font-size=\"10\">"
        svg += "<rect x=\"\(pad)\" y=\"\(pad / 2)\" width=\"\(size)\" height=\"\(size)\" fill=\"none\" stroke=\"#999\"/>"
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg += "<text x=\"\(x(tick) - 6)\" y=\"\(pad / 2 + size + 12)\">\(String(format: "%.2g", tick))</text><text x=\"\(pad - 24)\" y=\"\(y(tick) + 3)\">\(String(format: "%.2g", tick))</text>"
        }
        if diagonal { svg += "<line x1=\"\(x(0))\" y1=\"\(y(0))\" x2=\"\(x(1))\" y2=\"\(y(1))\" stroke=\"#bbb\" stroke-dasharray=\"4\"/>" }
        for (i, (name, points)) in series.enumerated() where !points.isEmpty {
            let color = palette[i % palette.count]
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.8\" points=\"\(points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " "))\"/>"
            if dots { for p in points { svg += "<circle cx=\"\(x(p.0))\" cy=\"\(y(p.1))\" r=\"3\" fill=\"\(color)\"/>" } }
            svg += "<text x=\"\(pad + 6)\" y=\"\(pad / 2 + 12 + Double(i) * 12)\" fill=\"\(color)\">\(escape(name))</text>"
        }
        svg += "<text x=\"\(pad + size / 2 - 30)\" y=\"\(pad / 2 + size + 26)\">\(escape(xLabel))</text>"
        svg += "<text transform=\"translate(10,\(pad / 2 + size / 2 + 30)) rotate(-90)\">\(escape(yLabel))</text></svg>"
        return svg
    }

    static func confusion(_ r: ClassificationReport) -> String {
        let k = r.classes.count, cell = min(60.0, 240.0 / Double(max(k, 1))), pad = 70.0
        let peak = Double(max(r.confusionMatrix.flatMap { $0 }.max() ?? 1, 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(pad + cell * Double(k) + 10))\" height=\"\(Int(pad + cell * Double(k) + 10))\" font-size=\"10\">"
        for (i, row) in r.confusionMatrix.enumerated() {
            svg += "<text x=\"2\" y=\"\(pad + cell * (Double(i) + 0.5))\">\(escape(String(r.classes[i].prefix(10))))</text>"
            for (j, count) in row.enumerated() {
                let shade = Int(255 - 180 * Double(count) / peak)
                svg += "<rect x=\"\(pad + cell * Double(j))\" y=\"\(pad + cell * Double(i))\" width=\"\(cell)\" height=\"\(cell)\" fill=\"rgb(\(shade),\(shade),255)\" stroke=\"#fff\"/>"
                svg += "<text x=\"\(pad + cell * (Double(j) + 0.4))\" y=\"\(pad + cell * (Double(i) + 0.55))\">\(count)</text>"
            }
        }
        for (j, name) in r.classes.enumerated() {
            svg += "<text transform=\"translate(\(pad + cell * (Double(j) + 0.5)),\(pad - 4)) rotate(-45)\">\(escape(String(name.prefix(10))))</text>"
        }
        return svg + "</svg>"
    }
}
