import Foundation
import LumenStore
import LumenWorkspace

/// What every evaluation report offers, whatever the task: how many images it scored and its headline
/// metrics (what an evaluation run logs and a dashboard shows first). Classification, multi-label and
/// segmentation reports conform; each adds its own detail.
public protocol EvaluationReport: Codable, Sendable {
    /// Images scored.
    var imageCount: Int { get }
    /// The metrics a reader looks at first, in order.
    var headline: [(name: String, value: Double)] { get }
}

extension ClassificationReport: EvaluationReport {
    public var imageCount: Int { samples }
    public var headline: [(name: String, value: Double)] {
        var out: [(String, Double)] = [("accuracy", accuracy), ("balanced_accuracy", balancedAccuracy), ("roc_auc", rocAUC), ("pr_auc", prAUC)]
        if classes.count == 2 {
            out.append(("sensitivity", perClass[positiveIndex].recall))
            out.append(("specificity", perClass[positiveIndex].specificity))
        }
        return out
    }
}

extension MultiLabelReport: EvaluationReport {
    public var imageCount: Int { samples }
    public var headline: [(name: String, value: Double)] {
        [("macro_auc", macroAUC), ("micro_f1", microF1), ("macro_f1", macroF1), ("subset_accuracy", subsetAccuracy), ("hamming_loss", hammingLoss)]
    }
}

extension SegmentationReport: EvaluationReport {
    public var imageCount: Int { images.count }
    public var headline: [(name: String, value: Double)] {
        [("mean_dice", meanForegroundDice), ("mean_iou", meanForegroundIoU), ("pixel_accuracy", pixelAccuracy)]
    }
}

/// How to evaluate (the options of `lumen evaluate`; each applies to the tasks it names).
public struct EvaluationOptions: Sendable {
    /// Binary classification: the threshold reaching this sensitivity instead of Youden's J.
    public var targetSensitivity: Double?
    /// Bootstrap resamples for the confidence intervals (classification).
    public var bootstrap = 1000
    /// Binary classification: the positive class (default: the model's).
    public var positive: String?
    /// Segmentation: where to write every predicted mask.
    public var saveMasks: URL?
    public init() {}
}

/// An evaluation done and recorded: the report (of the model's task), its evaluation run and HTML report.
public struct EvaluationOutcome: Sendable {
    public let report: any EvaluationReport
    public let runID: String
    public let html: String
}

extension Evaluator {
    /// Evaluates `loaded` on `split` of `dataset` as its task requires (classification, multi-label or
    /// segmentation), records the evaluation run and returns the report with the run and the HTML: the one
    /// entry point for the CLI, the REST API and pipelines.
    public static func run(_ loaded: LoadedModel, dataset: String, split: String?, options: EvaluationOptions = EvaluationOptions(),
                           store: any Store, workspace: Workspace, progress: ((Int, Int) -> Void)? = nil) async throws -> EvaluationOutcome {
        switch loaded.task {
        case .multiLabel:
            let report = try evaluateMultiLabel(loaded, dataset: dataset, split: split, workspace: workspace, progress: progress)
            let (runID, html) = try await record(report, of: loaded, dataset: dataset, split: split, store: store, workspace: workspace)
            return EvaluationOutcome(report: report, runID: runID, html: html)
        case .segmentation:
            let (report, worst) = try evaluateSegmentation(loaded, dataset: dataset, split: split, workspace: workspace, saveMasks: options.saveMasks, progress: progress)
            let (runID, html) = try await record(report, worst: worst, of: loaded, dataset: dataset, split: split, store: store, workspace: workspace)
            return EvaluationOutcome(report: report, runID: runID, html: html)
        case .classification:
            let report = try evaluate(loaded, dataset: dataset, split: split, workspace: workspace, targetSensitivity: options.targetSensitivity,
                                      bootstrap: options.bootstrap, positive: options.positive, progress: progress)
            let (runID, html) = try await record(report, of: loaded, dataset: dataset, split: split, store: store, workspace: workspace)
            return EvaluationOutcome(report: report, runID: runID, html: html)
        }
    }
}
