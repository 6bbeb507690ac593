import ArgumentParser
import Foundation
import LumenData
import LumenTraining

/// `lumen evaluate NAME@alias --data DATASET --split test`: clinical metrics of a registered classifier.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a registered model on a dataset split: clinical metrics with 95 % bootstrap intervals, or Dice/IoU/HD95.",
        discussion: """
        MODEL is NAME@ALIAS, NAME/VERSION or NAME (latest version). The model's own preprocessing is applied. \
        The JSON report (every metric, the confusion matrix, calibration bins, the chosen threshold and every \
        prediction) goes to --out, a self-contained HTML report with ROC, PR, confusion-matrix, calibration and training-curve charts and the worst-predicted images to --html; both are logged as artifacts of an evaluation run. A segmentation model (U-Net) is scored per class with \
        Dice, IoU, 95th-percentile Hausdorff distance and pixel accuracy (per image and pooled), and its HTML report \
        shows the worst-segmented images with the true and predicted outlines.
        """
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Registered model: NAME@ALIAS, NAME/VERSION or NAME.") var model: String
    @Option(help: "Dataset version, NAME or NAME:ID.") var data: String
    @Option(help: "Split to evaluate (default: test).") var split: String = "test"
    @Option(help: "Choose the threshold reaching this sensitivity instead of Youden's J (binary).") var targetSensitivity: Double?
    @Option(help: "Binary tasks: the positive class (the finding) that sensitivity, specificity, ROC and the threshold refer to (default: the model's data.positive_class, else the second class in sorted order).") var positive: String?
    @Option(help: "Bootstrap resamples for the confidence intervals.") var bootstrap: Int = 1000
    @Option(help: "Where to write the JSON report (default: evaluation-NAME-vVERSION.json).") var out: String?
    @Option(help: "Where to write the HTML report (default: the JSON report's path with .html).") var html: String?
    @Option(help: "Segmentation: also write every predicted mask (8-bit PNG of class indices) under this folder.") var saveMasks: String?
    @Option(help: ArgumentHelp("Classifiers: the same metrics per subgroup of these manifest columns (e.g. sex,site or ELPV's type), with intervals; gaps where intervals separate are flagged.", valueName: "columns")) var by: String?

    func validate() throws {
        if let t = targetSensitivity, !(t > 0 && t <= 1) { throw ValidationError("--target-sensitivity must be in (0, 1], got \(t)") }
        if bootstrap < 0 || bootstrap > 100_000 { throw ValidationError("--bootstrap must be 0…100000, got \(bootstrap)") }
    }

    func htmlPath(_ loaded: LoadedModel) -> String {
        html ?? (out.map { ($0 as NSString).deletingPathExtension } ?? "evaluation-\(loaded.version.name)-v\(loaded.version.version)") + ".html"
    }

    func run() async throws {
        let ws = try workspace.open()
        let bar = ProgressBar("evaluating")
        var options = EvaluationOptions()
        options.targetSensitivity = targetSensitivity
        options.bootstrap = bootstrap
        options.positive = positive
        options.saveMasks = saveMasks.map { URL(fileURLWithPath: $0) }
        let byColumns = by.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if let byColumns { try SubgroupReport.check(columns: byColumns, in: DatasetRepository(workspace: ws).resolve(data)) }
        let (outcome, loaded) = try await workspace.withStore { store in
            let loaded = try await ModelLoader.load(model, store: store, workspace: ws)
            if byColumns != nil && loaded.task != .classification {
                throw CLIError("--by compares subgroups of a classifier's predictions; \(model) is a \(loaded.task.rawValue) model")
            }
            return (try await Evaluator.run(loaded, dataset: data, split: split, options: options, store: store, workspace: ws, progress: { bar.update($0, $1) }), loaded)
        }
        try outcome.html.write(to: URL(fileURLWithPath: htmlPath(loaded)), atomically: true, encoding: .utf8)
        func f(_ v: Double) -> String { v.isNaN ? "n/a" : String(format: "%.4f", v) }
        print("\(loaded.version.name) version \(loaded.version.version) on \(data) [\(split)]: \(outcome.report.imageCount) images" + (loaded.task == .multiLabel ? ", \(loaded.classes.count) labels" : ""))
        switch outcome.report {
        case let report as MultiLabelReport:
            print("macro ROC-AUC     \(f(report.macroAUC))")
            print("micro F1          \(f(report.microF1))   macro F1 \(f(report.macroF1))")
            print("subset accuracy   \(f(report.subsetAccuracy))   Hamming loss \(f(report.hammingLoss))")
            print(table(["label", "AUC", "AP", "precision", "recall", "F1", "support"],
                        report.perLabel.map { [$0.name, f($0.rocAUC), f($0.averagePrecision), f($0.precision), f($0.recall), f($0.f1), String($0.support)] }))
        case let report as SegmentationReport:
            print("mean foreground Dice  \(f(report.meanForegroundDice))")
            print("mean foreground IoU   \(f(report.meanForegroundIoU))")
            print("pixel accuracy        \(f(report.pixelAccuracy))")
            print(table(["class", "Dice", "IoU", "HD95 mean", "HD95 median", "pooled Dice", "images"],
                        report.classes.map { [$0.name, f($0.meanDice), f($0.meanIoU), f($0.meanHD95), f($0.medianHD95), f($0.pooledDice), String($0.images)] }))
        case let report as ClassificationReport:
            func ci(_ name: String, _ v: Double) -> String {
                report.confidenceIntervals[name].map { "\(f(v)) (95 % CI \(f($0.low))–\(f($0.high)))" } ?? f(v)
            }
            print("accuracy           \(ci("accuracy", report.accuracy))")
            print("balanced accuracy  \(ci("balanced_accuracy", report.balancedAccuracy))")
            print("ROC-AUC            \(ci("roc_auc", report.rocAUC))")
            print("PR-AUC             \(f(report.prAUC))")
            print("ECE                \(f(report.expectedCalibrationError))")
            if report.classes.count == 2 {
                let pos = report.perClass[report.positiveIndex]
                print("sensitivity        \(ci("sensitivity", pos.recall)) (positive class: \(pos.name))")
                print("specificity        \(ci("specificity", pos.specificity))")
            }
            if let t = report.threshold { print("threshold (\(t.method)): \(f(t.threshold)) → sensitivity \(f(t.sensitivity)), specificity \(f(t.specificity))") }
            print(table(["class", "precision", "recall", "specificity", "F1", "AUC", "support"],
                        report.perClass.map { [$0.name, f($0.precision), f($0.recall), f($0.specificity), f($0.f1), f($0.rocAUC), String($0.support)] }))
            print("confusion matrix (rows: true, columns: predicted)")
            print(table(["true \\ predicted"] + report.classes, report.classes.enumerated().map { [$0.element] + report.confusionMatrix[$0.offset].map(String.init) }))
        default:
            for (name, value) in outcome.report.headline { print("\(name)  \(f(value))") }
        }
        let path = out ?? "evaluation-\(loaded.version.name)-v\(loaded.version.version).json"
        try Evaluator.reportEncoder.encode(outcome.report).write(to: URL(fileURLWithPath: path), options: .atomic)
        if let columns = byColumns, let report = outcome.report as? ClassificationReport {
            let version = try DatasetRepository(workspace: ws).resolve(data)
            let subgroups = try SubgroupReport(report, version: version, columns: columns, bootstrap: min(bootstrap, 500))
            printSubgroups(subgroups, binary: report.classes.count == 2)
            let subPath = (path as NSString).deletingPathExtension + "-subgroups.json"
            try Evaluator.reportEncoder.encode(subgroups).write(to: URL(fileURLWithPath: subPath), options: .atomic)
            print("subgroups: \(subPath)")
        }
        print("report: \(path) and \(htmlPath(loaded)) (also evaluation/report.json and report.html of run \(outcome.runID))\(saveMasks.map { "; predicted masks under \($0)" } ?? "")")
    }
}

/// A subgroup table (`lumen evaluate --by`, `lumen monitor --performance --by`) and its gaps.
func printSubgroups(_ subgroups: SubgroupReport, binary: Bool) {
    func e(_ m: Estimate?) -> String { m.map { $0.value.isNaN ? "n/a" : String(format: "%.3f (%.3f–%.3f)", $0.value, $0.low, $0.high) } ?? "-" }
    print("by \(subgroups.columns.joined(separator: ", ")) (95 % bootstrap intervals; groups under 5 images left out):")
    print(table(subgroups.columns + ["images", "accuracy"] + (binary ? ["sensitivity", "specificity"] : ["balanced accuracy"]) + ["ROC-AUC"], subgroups.groups.map { g in
        g.values + [String(g.images), e(g.metrics["accuracy"])] + (binary ? [e(g.metrics["sensitivity"]), e(g.metrics["specificity"])] : [e(g.metrics["balanced_accuracy"])]) + [e(g.metrics["roc_auc"])]
    }))
    if subgroups.gaps.isEmpty { print("no gap: every metric's intervals overlap across the subgroups") }
    for gap in subgroups.gaps { print("GAP \(gap.metric): \(gap.low.joined(separator: "/")) below \(gap.high.joined(separator: "/")) (intervals do not overlap)") }
}
