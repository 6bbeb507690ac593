import Foundation

/// A model card (Mitchell et al. 2019) in Markdown, written when a trained model is registered: the model,
/// its data and version, validation performance with confidence intervals, intended use, limitations
/// and the full training configuration.
public enum ModelCard {
    public static func markdown(name: String, version: Int64, runID: String, config: ExperimentConfig, dataset: String,
                                trainImages: Int, validation: ClassificationReport?, segmentation: SegmentationReport? = nil, multiLabel: MultiLabelReport? = nil, libtorch: String, date: Date = Date()) -> String {
        func f(_ v: Double) -> String { v.isNaN ? "n/a" : String(format: "%.3f", v) }
        let day = ISO8601DateFormatter().string(from: date).prefix(10)
        var md = """
        # Model card: \(name) version \(version)

        ## Model
        - Architecture: \(config.model.rawValue), \(config.channels)-channel input of \(config.imageSize) × \(config.imageSize) pixels\(config.window.map { ", CT window \($0)" } ?? "")
        - Classes: \(validation?.classes.joined(separator: ", ") ?? "see run \(runID)")
        - Trained \(day) by Lumen run `\(runID)` (libtorch \(libtorch)), seed \(config.seed), \(config.epochs) epochs at most, \(config.optimizer.rawValue) with learning rate \(config.lr) and a \(config.schedule.rawValue) schedule
        - Weights: `checkpoints/best.safetensors` of the run, chosen by \(config.monitor) (\(config.monitorMode.rawValue))

        ## Data
        - Dataset version: `\(dataset)`
        - Training split `\(config.trainSplit)`: \(trainImages) images\(config.labelThreshold.map { "; labels thresholded at \($0)" } ?? "")
        - Augmentation: \(config.augment.isEmpty ? "none" : config.augment.map(\.rawValue).joined(separator: ", "))


        """
        if let r = validation {
            md += """
            ## Performance (validation split, \(r.samples) images, 95 % bootstrap intervals)
            | metric | value | 95 % CI |
            | --- | --- | --- |

            """
            for (label, key, value) in [("Accuracy", "accuracy", r.accuracy), ("Balanced accuracy", "balanced_accuracy", r.balancedAccuracy), ("ROC-AUC", "roc_auc", r.rocAUC),
                                        ("Sensitivity (\(r.classes.count == 2 ? r.classes[r.positiveIndex] : ""))", "sensitivity", r.classes.count == 2 ? r.perClass[r.positiveIndex].recall : .nan), ("Specificity", "specificity", r.classes.count == 2 ? r.perClass[r.positiveIndex].specificity : .nan)]
                where !value.isNaN {
                let ci = r.confidenceIntervals[key].map { "\(f($0.low))–\(f($0.high))" } ?? "n/a"
                md += "| \(label) | \(f(value)) | \(ci) |\n"
            }
            md += "| PR-AUC | \(f(r.prAUC)) | |\n| Expected calibration error | \(f(r.expectedCalibrationError)) | |\n"
            if let t = r.threshold { md += "\nSuggested threshold (\(t.method)): \(f(t.threshold)) for \(r.classes[r.positiveIndex]), with sensitivity \(f(t.sensitivity)) and specificity \(f(t.specificity)).\n" }
            md += "\n"
        }
        if let r = multiLabel {
            md += """
            ## Performance (validation split, \(r.samples) images, decisions at \(f(r.threshold)))
            Macro ROC-AUC \(f(r.macroAUC)), micro F1 \(f(r.microF1)), macro F1 \(f(r.macroF1)), subset accuracy \(f(r.subsetAccuracy)), Hamming loss \(f(r.hammingLoss)).

            | label | ROC-AUC | AP | precision | recall | F1 | support |
            | --- | --- | --- | --- | --- | --- | --- |

            """
            for l in r.perLabel { md += "| \(l.name) | \(f(l.rocAUC)) | \(f(l.averagePrecision)) | \(f(l.precision)) | \(f(l.recall)) | \(f(l.f1)) | \(l.support) |\n" }
            md += "\n"
        }
        if let r = segmentation {
            md += """
            ## Performance (validation split, \(r.images.count) images)
            Mean foreground Dice \(f(r.meanForegroundDice)), IoU \(f(r.meanForegroundIoU)), pixel accuracy \(f(r.pixelAccuracy)).

            | class | Dice | IoU | HD95 mean (px) | HD95 median (px) | images |
            | --- | --- | --- | --- | --- | --- |

            """
            for c in r.classes { md += "| \(c.name) | \(f(c.meanDice)) | \(f(c.meanIoU)) | \(f(c.meanHD95)) | \(f(c.medianHD95)) | \(c.images) |\n" }
            md += "\n"
        }
        md += """
        ## Intended use
        Research and development of \(segmentation != nil ? "segmentation of" : (validation?.classes.joined(separator: " vs ") ?? "this") + " classification on") images like those of `\(dataset)`, and decision support only after validation on the target site's own data. It is not a medical device and must not be used for diagnosis on its own.

        ## Limitations
        - Trained and validated on one dataset version (\(trainImages) training images); performance on other scanners, sites, protocols or populations is unknown.
        - Validation figures come from the validation split used to choose the checkpoint, so they are optimistic; use `lumen evaluate` on a held-out test split.
        - Class balance, label noise and any shortcut in the images (markers, text, borders) are inherited; check Grad-CAM maps (`lumen explain`) for shortcuts.
        - Probabilities may be miscalibrated (see the expected calibration error).

        ## Training configuration
        ```yaml

        """
        for (key, value) in config.tree.effectiveValues() { md += "\(key): \(value)\n" }
        return md + "```\n"
    }
}
