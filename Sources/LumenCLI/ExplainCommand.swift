import ArgumentParser
import Foundation
import LumenImaging
import LumenInference
import LumenTraining

/// `lumen explain NAME@alias image.dcm --out heatmap.png`: a Grad-CAM heat map over the model's input.
struct ExplainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Grad-CAM heat map of a registered classifier on one image (DICOM, NIfTI, PNG, …), as a PNG overlay.",
        discussion: "The model's own preprocessing is applied; the overlay shows the preprocessed input (first channel) with the heat map of the predicted class, or of --class."
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Registered model: NAME@ALIAS, NAME/VERSION or NAME.") var model: String
    @Argument(help: "Image file (or DICOM series folder: the middle slice).") var image: String
    @Option(help: "Output PNG.") var out: String = "heatmap.png"
    @Option(name: .customLong("class"), help: "Class to explain (name or index; default: the predicted one).") var target: String?

    func run() async throws {
        let ws = try workspace.open()
        let loaded = try await workspace.withStore { store in try await ModelLoader.load(model, store: store, workspace: ws) }
        guard loaded.task == .classification else { throw CLIError("\(model) is a \(loaded.task.rawValue) model; Grad-CAM explains classifiers") }
        let picture = try load(image)
        let index = try target.map { t -> Int in
            if let i = loaded.classes.firstIndex(of: t) { return i }
            guard let i = Int(t), loaded.classes.indices.contains(i) else { throw CLIError("--class \(t) is not one of \(loaded.classes.joined(separator: ", "))") }
            return i
        }
        let (cam, input) = try await loaded.predictor.perform { try $0.gradCAM(picture, target: index) }
        try ImageWriter.writeAtomically(cam.overlayPNG(on: input), to: URL(fileURLWithPath: out))
        let shown = loaded.classes.enumerated().map { "\($0.element) \(String(format: "%.3f", cam.probabilities[$0.offset]))" }.joined(separator: ", ")
        print("\(loaded.version.name) version \(loaded.version.version): \(shown)")
        print("Grad-CAM of class \(loaded.classes[cam.target]) written to \(out) (\(cam.width) x \(cam.height))")
    }
}
