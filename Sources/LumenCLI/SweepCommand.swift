import ArgumentParser
import Foundation
import LumenStore
import LumenTensor
import LumenTraining

/// `lumen sweep sweep.yaml`: grid or random search over experiment config keys, each trial a child run.
struct SweepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Grid or random search over experiment config keys; each trial is a child run, the best is reported.",
        discussion: """
        A sweep file names a base experiment config and the keys to vary:

          base: exp.yaml            # relative to the sweep file
          method: grid              # grid: every combination; random: `trials` draws
          trials: 8                 # random only
          seed: 0                   # random only
          metric: val_auc           # default: the base config's trainer.early_stopping.metric
          mode: max                 # min or max
          parameters:
            trainer.lr: [0.0003, 0.001, 0.003]
            model.name: [simple-cnn, resnet18]
            trainer.weight_decay: {min: 0.00001, max: 0.01, log: true}   # random only

        KEY=VALUE arguments after the sweep file override the base config for every trial. Each trial is a run \
        whose parent is the sweep's run (`lumen runs list` shows them); the parent logs every trial's metric and \
        tags the best trial. A trial that fails is reported and the sweep goes on; Ctrl-C stops the running \
        trial (resumable with lumen train --resume) and marks the sweep KILLED.
        """
    )
    @OptionGroup var workspace: WorkspaceOptions
    @Argument(help: "Sweep file (YAML), then KEY=VALUE overrides of the base config.") var arguments: [String] = []
    @Option(help: "Register the best trial's model as a new version of this name.") var register: String?
    @Option(help: "Name of the sweep's parent run.") var name: String?
    @Flag(help: "Print the trials and exit without training.") var dryRun = false

    func run() async throws {
        if let register { do { try ModelReference.checkName(register) } catch { throw CLIError("--register: \(error)") } }
        guard let file = arguments.first else { throw CLIError("give a sweep file: lumen sweep sweep.yaml (lumen sweep --help shows the format)") }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw CLIError("\(file): cannot read the sweep file") }
        let folder = URL(fileURLWithPath: file).deletingLastPathComponent()
        let sweep: SweepConfig
        do {
            sweep = try SweepConfig(yaml: text, source: file, overrides: Array(arguments.dropFirst())) { path in
                let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : folder.appendingPathComponent(path)
                return try String(contentsOf: url, encoding: .utf8)
            }
        } catch { throw CLIError("\(file): \(error)") }
        let plans = sweep.trialOverrides()
        print("sweep: \(sweep.method), \(plans.count) trial(s), \(sweep.metric) (\(sweep.mode))")
        if dryRun {
            for (i, p) in plans.enumerated() { print("  trial \(i + 1): \(p.joined(separator: " "))") }
            return
        }
        let ws = try workspace.open()
        let interrupt = Interrupt()
        interrupt.install(message: "stopping the sweep: finishing this batch and saving the trial's checkpoint")
        let outcome: (parentRunID: String, trials: [SweepTrial], best: SweepTrial?)
        do {
            outcome = try await workspace.withStore { store in
                var runner = SweepRunner(sweep: sweep, workspace: ws, store: store)
                runner.shouldStop = { interrupt.isRaised }
                var printer = TrainingPrinter(config: sweep.base)
                return try await runner.run(parentName: name, trialStarted: { i, n, overrides in
                    print("\ntrial \(i + 1)/\(n): \(overrides.joined(separator: " "))")
                    if let config = try? ExperimentConfig(yaml: sweep.base.record.yaml, source: sweep.base.record.source, overrides: sweep.base.record.overrides + overrides) {
                        printer = TrainingPrinter(config: config, prefix: "  ")
                    }
                }, events: { printer.handle($0) })
            }
        } catch TrainingError.interrupted(let runID, _, _) {
            print("sweep interrupted: trial run \(runID) is KILLED with its checkpoint saved (lumen train --resume \(runID)); the sweep is marked KILLED")
            throw ExitCode(130)
        }
        print("\nsweep run \(outcome.parentRunID):")
        let rows = outcome.trials.map { t -> [String] in
            [String(t.index + 1), t.runID.map { String($0.prefix(8)) } ?? "-", t.value.map(formatNumber) ?? (t.error == nil ? "-" : "failed"),
             t.overrides.joined(separator: " ") + (t.error.map { "  (\($0.prefix(80)))" } ?? "") + (t.index == outcome.best?.index ? "  ★" : "")]
        }
        print(table(["trial", "run", sweep.metric, "overrides"], rows))
        guard let best = outcome.best, let result = best.result, let config = best.config else {
            throw CLIError("no trial finished with a value of \(sweep.metric)")
        }
        print("best: trial \(best.index + 1), run \(result.runID), \(sweep.metric) \(formatNumber(best.value ?? .nan)) with \(best.overrides.joined(separator: " "))")
        if let register {
            let registered = try await workspace.withStore { store in
                try await ModelRegistration.register(name: register, result: result, config: config, store: store, workspace: ws, libtorch: Runtime.libtorchVersion)
            }
            print("registered \(register) version \(registered.version.version); model card: artifact \(registered.card)")
        }
        if outcome.trials.contains(where: { $0.error != nil }) { throw ExitCode(3) }
    }
}
