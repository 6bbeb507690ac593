import Foundation
import LumenData
import LumenInference
import LumenNN

/// The validation figures of one pass over the validation split, through the `Predictor`.
struct ValidationPass {
    var loss: Double
    var metrics: [String: Double]
    var classification: ClassificationReport?
    var multiLabel: MultiLabelReport?
    var segmentation: SegmentationReport?
}

extension Trainer {
    /// Predicts the validation split with `predictor` (the network being trained, in eval mode) and
    /// computes the task's figures; `full` adds bootstrap intervals (classification) and HD95 (segmentation)
    /// for the model card.
    func validate(_ predictor: Predictor, _ loader: DataLoader, loss: any Loss, data: TrainingData, full: Bool) throws -> ValidationPass {
        switch predictor.spec.task {
        case .classification:
            var probabilities: [[Double]] = [], labels: [Int] = [], paths: [String] = []
            let mean = try predictor.run(loader, loss: loss) { batch, output in
                guard let targets = batch.targets else { return }
                probabilities += output.predictions.map(\.probabilities)
                labels += try targets.int64s().map(Int.init)
                paths += batch.paths
            } ?? .nan
            var v = ValidationPass(loss: mean, metrics: ["val_loss": mean, "val_accuracy": ClassificationMetrics.accuracy(probabilities: probabilities, labels: labels),
                                                     "val_auc": ClassificationMetrics.auc(probabilities: probabilities, labels: labels)])
            if full {
                let scored = zip(paths, zip(probabilities, labels)).map { ScoredImage(path: $0.0, label: $0.1.1, probabilities: $0.1.0) }
                v.classification = ClassificationReport(classes: data.classes, predictions: scored, bootstrap: 1000, seed: config.seed, positive: data.positive)
            }
            return v
        case .multiLabel:
            var predictions: [MultiLabelPrediction] = []
            let k = data.classes.count
            let mean = try predictor.run(loader, loss: loss) { batch, output in
                guard let targets = batch.targets else { return }
                let truth = try targets.floats()
                for (i, p) in output.predictions.enumerated() {
                    predictions.append(MultiLabelPrediction(path: batch.paths[i], labels: truth[i * k..<(i + 1) * k].map { $0 >= 0.5 ? 1 : 0 }, probabilities: p.probabilities))
                }
            } ?? .nan
            let report = MultiLabelReport(classes: data.classes, predictions: predictions)
            return ValidationPass(loss: mean, metrics: ["val_loss": mean, "val_auc": report.macroAUC, "val_f1_micro": report.microF1,
                                                    "val_subset_accuracy": report.subsetAccuracy, "val_label_accuracy": 1 - report.hammingLoss],
                              multiLabel: full ? report : nil)
        case .segmentation:
            var maps: [(path: String, predicted: [Int], truth: [Int], width: Int, height: Int)] = []
            let mean = try predictor.run(loader, loss: loss) { batch, output in
                guard let masks = batch.masks else { throw TrainingError.data("\(batch.paths.first ?? "an image") of the validation split has no mask") }
                let truth = try masks.int64s()
                for (i, p) in output.predictions.enumerated() {
                    guard let mask = p.mask else { continue }
                    let n = mask.width * mask.height
                    maps.append((batch.paths[i], mask.classes, truth[i * n..<(i + 1) * n].map { Int($0) }, mask.width, mask.height))
                }
            } ?? .nan
            let report = SegmentationReport(classNames: data.classes, maps: maps, distances: full)
            return ValidationPass(loss: mean, metrics: ["val_loss": mean, "val_dice": report.meanForegroundDice, "val_iou": report.meanForegroundIoU,
                                                    "val_pixel_accuracy": report.pixelAccuracy], segmentation: full ? report : nil)
        }
    }
}
