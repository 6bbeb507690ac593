import Foundation
import LumenImaging
import LumenInference

/// The JSON answer for images sent to a model (`POST /api/predict/{name}` and `lumen predict`): one
/// entry per file, with class probabilities by name (multi-label: the findings at or above the
/// threshold), a mask PNG for segmentation, and Grad-CAM when asked; plus the version that answered.
public enum PredictionAnswer {
    /// One file's entry.
    public static func entry(file: String, prediction: Prediction, spec: ModelSpec, heatmapPNG: [UInt8]? = nil, id: String? = nil) throws -> [String: Any] {
        var out: [String: Any] = ["file": file]
        if let id { out["prediction_id"] = id }
        switch spec.task {
        case .classification:
            out["probabilities"] = Dictionary(uniqueKeysWithValues: zip(spec.classes, prediction.probabilities))
            if let top = prediction.labels.first { out["label"] = spec.classes[top] }
            if spec.classes.count == 2 {
                out["positive_class"] = spec.classes[spec.positiveIndex]
                out["positive_probability"] = prediction.probabilities[spec.positiveIndex]
            }
        case .multiLabel:
            out["probabilities"] = Dictionary(uniqueKeysWithValues: zip(spec.classes, prediction.probabilities))
            out["findings"] = prediction.labels.map { spec.classes[$0] }
            out["threshold"] = spec.labelThreshold ?? 0.5
        case .segmentation:
            if let mask = prediction.mask {
                let png = try ImageWriter.encode(".png", data: mask.classes.map { UInt8(clamping: $0) }, width: mask.width, height: mask.height, channels: 1, type: .uint8)
                var pixels = [Int](repeating: 0, count: spec.classes.count)
                for c in mask.classes where c >= 0 && c < pixels.count { pixels[c] += 1 }
                out["mask"] = ["width": mask.width, "height": mask.height, "encoding": "png, one class index per pixel",
                               "png_base64": Data(png).base64EncodedString(),
                               "pixels": Dictionary(uniqueKeysWithValues: zip(spec.classes, pixels))] as [String: Any]
            }
            out["classes_present"] = prediction.labels.map { spec.classes[$0] }
        }
        if let heatmapPNG { out["gradcam_png_base64"] = Data(heatmapPNG).base64EncodedString() }
        return out
    }

    /// The whole answer.
    public static func answer(model: String, version: Int64, reference: String, entries: [[String: Any]], latency: Double, batchSize: Int?, gate: [String: Any]) -> [String: Any] {
        var out: [String: Any] = ["model": model, "version": version, "served_as": reference, "latency_ms": (latency * 1e5).rounded() / 100,
                                  "predictions": entries, "gate": gate]
        if let batchSize { out["batch_size"] = batchSize }
        return out
    }

    /// The gate's verdict when a version declares no gate.
    public static var noGate: [String: Any] { ["verdict": "accepted", "reason": "no input gate declared for this version"] }

    /// JSON bytes of an answer (keys sorted).
    public static func json(_ object: [String: Any]) -> [UInt8] { JSONWriter.encode(object) }
}
