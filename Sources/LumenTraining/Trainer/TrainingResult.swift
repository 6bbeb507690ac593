import Foundation
import LumenInference

/// What a training run reports as it goes (the hook `lumen train`'s progress line, sweeps and pipelines use).
public enum TrainingEvent: Sendable {
    case started(runID: String, trainSamples: Int, valSamples: Int, classes: [String])
    /// A stopped run continues from `epoch` (0-based) after `batch` batches of it.
    case resumed(epoch: Int, batch: Int)
    case batch(epoch: Int, batch: Int, batches: Int, loss: Double)
    case epoch(epoch: Int, metrics: [String: Double], best: Bool)
    case stoppedEarly(epoch: Int)
}

/// The result of a finished run (also kept as the run's `lumen/training_result.json` artifact, from
/// which `lumen models register RUN NAME` registers it later).
public struct TrainingResult: Sendable, Codable {
    public var runID: String
    public var epochs: Int
    public var best: [String: Double]
    public var last: [String: Double]
    public var classes: [String]
    public var bestCheckpoint: String
    /// The model's input and output shapes as JSON (for the registry).
    public var signature: String
    /// The evaluation pipeline as JSON: what serving and evaluation apply to an image (for the registry).
    public var preprocessing: String
    /// The best checkpoint evaluated on the validation split (nil without one, or for segmentation).
    public var validation: ClassificationReport?
    /// Segmentation: the best checkpoint's Dice, IoU and HD95 on the validation split.
    public var segmentationValidation: SegmentationReport?
    /// Multi-label: the best checkpoint's per-label figures on the validation split.
    public var multiLabelValidation: MultiLabelReport?
    /// "classification", "multi-label" or "segmentation".
    public var task: String = "classification"
    public var dataset: String
    public var trainImages: Int
    /// The model spec of the best checkpoint, with its SHA-256 (nil in results of runs before specs existed).
    public var spec: ModelSpec?
    /// The epoch (0-based) whose weights are the best checkpoint.
    public var bestEpoch: Int?

    /// Artifact paths (relative to a run's artifacts) where a run keeps what it was made from and what it made.
    public static let artifactPath = "lumen/training_result.json"
    public static let configArtifactPath = "lumen/config.json"

    /// JSON with NaN and infinities as strings (a metric of an empty class is NaN).
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }
}
