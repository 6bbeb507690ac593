import ArgumentParser
import Foundation
import LumenStore
import LumenTensor
import LumenTraining
import LumenWorkspace

/// `lumen train CONFIG [key=value…]`: trains a classifier from an experiment config, tracked in the store.
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a classifier from a YAML experiment config, tracked as a run.",
        discussion: """
        Overrides follow the config file as KEY=VALUE (e.g. trainer.epochs=20 model.name=resnet34). Unknown or \
        mistyped keys are refused with their path. `lumen train --example` prints a commented config; \
        `lumen train exp.yaml KEY=VALUE… --print-config` prints the resolved one (every default filled in).

        Ctrl-C (or SIGTERM) finishes the current batch, saves a checkpoint, marks the run KILLED and exits with \
        status 130; `lumen train --resume RUN` continues it exactly where it stopped (same batches, optimizer \
        state and schedule). A run killed harder (SIGKILL, power loss) resumes from its last finished epoch.

        Keys:
        \(ConfigTree.documentation(ExperimentConfig.schema))
        """
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Experiment config (YAML), then KEY=VALUE overrides.") var arguments: [String] = []
    @Option(help: "Register the best checkpoint as a new version of this model.") var register: String?
    @Option(help: "Continue this interrupted, killed or failed run (id or unique prefix) with its own config.") var resume: String?
    @Flag(help: "Print a commented example config and exit.") var example = false
    @Flag(help: "Print the resolved config (the file, the overrides and every default) as YAML and exit without training.") var printConfig = false

    func run() async throws {
        if example { print(ExperimentConfig.example); return }
        // A bad model name is refused before an hour of training, not after.
        if let register { do { try ModelReference.checkName(register) } catch { throw CLIError("--register: \(error)") } }
        var config: ExperimentConfig
        var resumeID: String?
        if let resume {
            let ws = try workspace.open()
            guard arguments.isEmpty else { throw CLIError("--resume continues a run with its own config: give no config file or overrides") }
            (config, resumeID) = try await workspace.withStore { store -> (ExperimentConfig, String) in
                let run = try await resolveRun(resume, in: store)
                let prefix = "\(run.info.experimentID)/\(run.info.runID)/artifacts/"
                guard let entry = try await store.artifact(path: prefix + TrainingResult.configArtifactPath), let sha = entry.sha256 else {
                    throw CLIError("run \(run.info.runID) was not made by lumen train (it has no \(TrainingResult.configArtifactPath)), so it cannot be resumed")
                }
                let data = try Data(contentsOf: ArtifactStore(root: ws.artifactRoot).url(for: sha))
                do { return (try ExperimentConfig(record: JSONDecoder().decode(ConfigRecord.self, from: data)), run.info.runID) } catch { throw CLIError("run \(run.info.runID): \(error)") }
            }
        } else {
            guard let first = arguments.first else { throw CLIError("give an experiment config: lumen train exp.yaml [KEY=VALUE…] (lumen train --example prints one)") }
            var yaml = "", source = "command line", overrides = arguments
            if !first.contains("=") {
                guard let text = try? String(contentsOfFile: first, encoding: .utf8) else { throw CLIError("\(first): cannot read the config file") }
                yaml = text
                source = first
                overrides.removeFirst()
            }
            do { config = try ExperimentConfig(yaml: yaml, source: source, overrides: overrides) } catch { throw CLIError("\(error)") }
        }
        if printConfig {
            print("# resolved from \(resumeID.map { "run \($0)" } ?? arguments.joined(separator: " "))")
            print(try config.resolvedYAML(), terminator: "")
            return
        }
        let ws = try workspace.open()
        let interrupt = Interrupt()
        interrupt.install(message: "stopping: finishing this batch and saving a checkpoint")
        let result: TrainingResult
        do {
            result = try await workspace.withStore { store in
                var trainer = Trainer(config: config, workspace: ws, store: store, resume: resumeID)
                trainer.shouldStop = { interrupt.isRaised }
                return try await trainer.run(events: TrainingPrinter(config: config).handle)
            }
        } catch TrainingError.interrupted(let runID, let epoch, let batch) {
            print("interrupted in epoch \(epoch + 1) after batch \(batch): run \(runID) is marked KILLED, its checkpoint is saved")
            print("continue with: lumen train --resume \(runID)")
            throw ExitCode(130)
        } catch let error as TrainingError {
            throw CLIError("\(error)")
        }
        print("kept epoch \(result.bestEpoch.map { String($0 + 1) } ?? "?")/\(result.epochs) (best \(config.monitor)\(result.best[config.monitor].map { String(format: " %.4f", $0) } ?? "")): " + result.best.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: "  "))
        if let name = register {
            let registered = try await workspace.withStore { store in
                try await ModelRegistration.register(name: name, result: result, config: config, store: store, workspace: ws, libtorch: Runtime.libtorchVersion)
            }
            print("registered \(name) version \(registered.version.version); model card: artifact \(registered.card) (lumen models card \(name)/\(registered.version.version))")
            // The monitoring reference of the new version: its training split as the server will see it.
            do {
                let profile = try await workspace.withStore { store in
                    let loaded = try await ModelLoader.load("\(name)/\(registered.version.version)", store: store, workspace: ws)
                    let profile = try ReferenceProfiler.make(loaded, dataset: config.dataset, split: config.trainSplit, workspace: ws, maxImages: 2000)
                    try await ReferenceProfiler.save(profile, store: store, workspace: ws)
                    return profile
                }
                print("monitoring reference: \(profile.features.values.first?.count ?? 0) images of \(profile.dataset) [\(profile.split)] (lumen monitor \(name)/\(registered.version.version))")
            } catch {
                FileHandle.standardError.write(Data("warning: no monitoring reference for \(name) version \(registered.version.version): \(error) (lumen monitor reference makes one)\n".utf8))
            }
        }
        print("run \(result.runID) finished (lumen runs show \(result.runID))")
    }
}

/// Prints a training run's events: a live bar per epoch on a terminal (batch, ETA, loss), a line per epoch.
final class TrainingPrinter: @unchecked Sendable {
    // @unchecked: used from the training task only.
    let config: ExperimentConfig
    let bar = ProgressBar("")
    let prefix: String
    private var lossSum = 0.0, lossCount = 0, currentEpoch = -1

    init(config: ExperimentConfig, prefix: String = "") {
        self.config = config
        self.prefix = prefix
    }

    func handle(_ event: TrainingEvent) {
        switch event {
        case .started(let runID, let train, let val, let classes):
            print("\(prefix)run \(runID): \(train) training and \(val) validation images, classes \(classes.joined(separator: ", "))")
        case .resumed(let epoch, let batch):
            print("\(prefix)resuming in epoch \(epoch + 1)/\(config.epochs) after batch \(batch)")
        case .batch(let epoch, let batch, let batches, let loss):
            if epoch != currentEpoch { currentEpoch = epoch; lossSum = 0; lossCount = 0; bar.restart() }
            lossSum += loss
            lossCount += 1
            bar.update(batch, batches, label: "\(prefix)epoch \(epoch + 1)/\(config.epochs)", suffix: String(format: "loss %.4f", lossSum / Double(max(lossCount, 1))))
        case .epoch(let epoch, let metrics, let best):
            let shown = metrics.sorted { $0.key < $1.key }.map { "\($0.key) \(String(format: "%.4f", $0.value))" }.joined(separator: "  ")
            print("\(prefix)epoch \(epoch + 1)/\(config.epochs)  \(shown)\(best ? "  *" : "")")
        case .stoppedEarly(let epoch):
            print("\(prefix)early stop after epoch \(epoch + 1): \(config.monitor) did not improve for \(config.patience) epochs")
        }
    }
}
