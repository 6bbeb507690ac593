import ArgumentParser
import Foundation
import LumenStore
import LumenTensor
import LumenTraining

/// `lumen train CONFIG [key=value…]`: trains a classifier from an experiment config, tracked in the store.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier from a YAML experiment config, tracked as a run.",
        discussion: """
        Overrides follow the config file as KEY=VALUE (e.g. trainer.epochs=20 model.name=resnet34). Unknown or \
        mistyped keys are refused with their path. `lumen train --example` prints a commented config.

        Keys:
        \(ConfigTree.documentation(ExperimentConfig.schema))
        """
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Experiment config (YAML), then KEY=VALUE overrides.") var arguments: [String] = []
    @Option(help: "Register the best checkpoint as a new version of this model.") var register: String?
    @Flag(help: "Print a commented example config and exit.") var example = false

    func run() async throws {
        if example { print(ExperimentConfig.example); return }
        guard let first = arguments.first else { throw CLIError("give an experiment config: lumen train exp.yaml [KEY=VALUE…] (lumen train --example prints one)") }
        var yaml = "", source = "command line", overrides = arguments
        if !first.contains("=") {
            guard let text = try? String(contentsOfFile: first, encoding: .utf8) else { throw CLIError("\(first): cannot read the config file") }
            yaml = text
            source = first
            overrides.removeFirst()
        }
        let config: ExperimentConfig
        do { config = try ExperimentConfig(yaml: yaml, source: source, overrides: overrides) } catch { throw CLIError("\(error)") }
        let ws = try workspace.open()
        let bar = ProgressBar("")
        let terminal = isatty(1) != 0
        let result = try await workspace.withStore { store in
            try await Trainer(config: config, workspace: ws, store: store).run { event in
                switch event {
                case .started(let runID, let train, let val, let classes):
                    print("run \(runID): \(train) training and \(val) validation images, classes \(classes.joined(separator: ", "))")
                case .batch(let epoch, let batch, let batches, _):
                    if terminal { bar.update(batch, batches, label: "epoch \(epoch + 1)/\(config.epochs)") }
                case .epoch(let epoch, let metrics, let best):
                    let shown = metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: "  ")
                    print("epoch \(epoch + 1)/\(config.epochs)  \(shown)\(best ? "  *" : "")")
                case .stoppedEarly(let epoch):
                    print("early stop after epoch \(epoch + 1): \(config.monitor) did not improve for \(config.patience) epochs")
                }
            }
        }
        print("best (\(config.monitor)): " + result.best.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: "  "))
        if let name = register {
            let (version, cardPath) = try await workspace.withStore { store -> (ModelVersion, String) in
                if (try? await store.registeredModel(name: name)) == nil { _ = try await store.createRegisteredModel(name: name, description: "", tags: [:]) }
                let version = try await store.createModelVersion(name: name, source: "runs:/\(result.runID)/checkpoints/best.safetensors", runID: result.runID,
                                                                 description: "trained by lumen train", tags: ["classes": result.classes.joined(separator: ",")],
                                                                 signature: result.signature, preprocessing: result.preprocessing)
                // The model card, kept with the run's artifacts and named by a tag on the version.
                let card = ModelCard.markdown(name: name, version: version.version, runID: result.runID, config: config, dataset: result.dataset,
                                              trainImages: result.trainImages, validation: result.validation, libtorch: Runtime.libtorchVersion)
                let run = try await store.run(id: result.runID)
                let path = "\(run.info.experimentID)/\(result.runID)/artifacts/model_card.md"
                let (sha, size) = try ArtifactStore(root: ws.artifactRoot).put(Data(card.utf8))
                try await store.recordArtifact(path: path, sha256: sha, size: size)
                try await store.setModelVersionTag(name: name, version: version.version, key: "model_card", value: "model_card.md")
                let folder = ws.folder.appendingPathComponent("model-cards")
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                let file = folder.appendingPathComponent("\(name)-v\(version.version).md")
                try card.write(to: file, atomically: true, encoding: .utf8)
                return (version, file.path)
            }
            print("registered \(name) version \(version.version); model card: \(cardPath) (also model_card.md of the run)")
        }
        print("run \(result.runID) finished (lumen runs show \(result.runID))")
    }
}
