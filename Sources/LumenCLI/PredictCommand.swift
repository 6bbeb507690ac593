import ArgumentParser
import Foundation
import LumenImaging
import LumenInference
import LumenServing
import LumenTraining

/// `lumen predict NAME@ALIAS FILE…`: a registered model's answer for image files, the same answer
/// `POST /api/predict/NAME` gives (`--json` prints it as the server does).
struct PredictCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict image files (DICOM, NIfTI, PNG, JPEG, TIFF) with a registered model, as the server's /api/predict does.",
        discussion: "Each file is read and preprocessed as at training (the version's own pipeline); a DICOM series folder gives its middle slice. A file that cannot be read stops the command with its name and reason, before anything is predicted."
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Registered model: NAME@ALIAS, NAME/VERSION or NAME.") var model: String
    @Argument(help: "Image files.") var files: [String]
    @Flag(help: "Print the server's JSON answer.") var json = false
    @Flag(help: "Add a Grad-CAM heat map (PNG, base64 in the JSON) per file (classifiers).") var gradcam = false

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("give at least one image file") }
    }

    func run() async throws {
        let started = Date()
        let ws = try workspace.open()
        let loaded = try await workspace.withStore { store in try await ModelLoader.load(model, store: store, workspace: ws) }
        if gradcam && loaded.task != .classification { throw CLIError("--gradcam explains classifiers; \(model) is a \(loaded.task.rawValue) model") }
        let images = try files.map { try load($0) }
        let gradcam = self.gradcam
        let results = try await loaded.predictor.perform { p -> [(Prediction, [UInt8]?)] in
            let predictions = try p.predict(images)
            return try zip(predictions, images).map { prediction, image in
                guard gradcam else { return (prediction, nil) }
                let cam = try p.gradCAM(image)
                return (prediction, try cam.heatmap.overlayPNG(on: cam.input))
            }
        }
        let entries = try zip(files, results).map { file, result in
            try PredictionAnswer.entry(file: (file as NSString).lastPathComponent, prediction: result.0, spec: loaded.spec, heatmapPNG: result.1)
        }
        let answer = PredictionAnswer.answer(model: loaded.version.name, version: loaded.version.version, reference: model, entries: entries,
                                             latency: Date().timeIntervalSince(started), batchSize: nil, gate: PredictionAnswer.noGate)
        if json {
            print(String(decoding: PredictionAnswer.json(answer), as: UTF8.self))
            return
        }
        print("\(loaded.version.name) version \(loaded.version.version) (\(model)), \(loaded.task.rawValue)")
        let spec = loaded.spec
        var rows: [[String]] = []
        for (file, (prediction, _)) in zip(files, results) {
            let name = (file as NSString).lastPathComponent
            switch spec.task {
            case .classification:
                let top = prediction.labels.first ?? 0
                rows.append([name, spec.classes[top], String(format: "%.4f", prediction.probabilities[top]),
                             spec.classes.enumerated().map { "\($0.element) \(String(format: "%.3f", prediction.probabilities[$0.offset]))" }.joined(separator: ", ")])
            case .multiLabel:
                rows.append([name, prediction.labels.map { spec.classes[$0] }.joined(separator: ", "), "",
                             spec.classes.enumerated().map { "\($0.element) \(String(format: "%.3f", prediction.probabilities[$0.offset]))" }.joined(separator: ", ")])
            case .segmentation:
                let pixels = prediction.mask?.classes ?? []
                let share = spec.classes.indices.map { c in Double(pixels.filter { $0 == c }.count) / Double(max(pixels.count, 1)) }
                rows.append([name, prediction.labels.map { spec.classes[$0] }.joined(separator: ", "), "",
                             spec.classes.enumerated().map { "\($0.element) \(String(format: "%.1f", 100 * share[$0.offset])) %" }.joined(separator: ", ")])
            }
        }
        print(table(["file", spec.task == .classification ? "label" : (spec.task == .multiLabel ? "findings" : "classes present"),
                     spec.task == .classification ? "probability" : "", spec.task == .segmentation ? "pixels" : "probabilities"], rows))
    }
}
