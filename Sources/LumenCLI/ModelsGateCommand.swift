import ArgumentParser
import Foundation
import LumenInference
import LumenStore
import LumenTraining
import LumenWorkspace

extension ModelsCommand {
    /// `lumen models gate NAME/VERSION …`: what a version accepts when served.
    struct Gate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a model version an input gate: an out-of-distribution score and/or a gate classifier; the server answers 422 to what it refuses.",
            discussion: """
            --data fits the score on the version's own training data: Mahalanobis (penultimate-layer embeddings, diagonal covariance, \
            statistics from --fit-split) or energy (the logits); the threshold refuses --false-rejection of --split (held-out, in-domain). \
            --classifier NAME@ALIAS --accept CLASS runs another registered classifier first and lets through only images it puts in CLASS. \
            Without options, shows the gate. The gate is stored with the version (tag lumen.gate) and read by `lumen serve` when it loads it.
            """)
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The version: NAME/VERSION or NAME@ALIAS.") var model: String
        @Option(help: "Dataset (NAME or NAME:ID) to fit the score and threshold on.") var data: String?
        @Option(help: "Split whose embeddings give the Mahalanobis statistics.") var fitSplit = "train"
        @Option(help: "Held-out in-domain split the threshold is set on.") var split = "val"
        @Option(help: "Score: mahalanobis or energy.") var method = "mahalanobis"
        @Option(help: "Share of held-out in-domain images the threshold refuses.") var falseRejection = 0.05
        @Option(help: "Gate classifier: a registered classifier (NAME@ALIAS) run before the model.") var classifier: String?
        @Option(help: "Classes of the gate classifier that mean in-domain (comma-separated).") var accept: String?
        @Option(help: "Least probability of an accepted class.") var minProbability: Double?
        @Flag(help: "Remove the gate.") var remove = false

        func validate() throws {
            guard InputGate.Method(rawValue: method) != nil else { throw ValidationError("--method must be \(InputGate.Method.allCases.map(\.rawValue).joined(separator: " or "))") }
            guard (classifier == nil) == (accept == nil) else { throw ValidationError("--classifier and --accept go together") }
            if let minProbability { guard (0...1).contains(minProbability) else { throw ValidationError("--min-probability must be in [0, 1]") } }
            guard !(remove && (data != nil || classifier != nil)) else { throw ValidationError("--remove takes no other option") }
        }

        func run() async throws {
            let ws = try options.open()
            try await options.withStore { store in
                let version = try await store.modelVersion(ModelReference(parsing: model))
                let label = "\(version.name) version \(version.version)"
                if remove {
                    try await store.setModelVersionTag(name: version.name, version: version.version, key: InputGate.tag, value: nil)
                    try await store.setModelVersionTag(name: version.name, version: version.version, key: InputGate.tag + ".summary", value: nil)
                    print("\(label): gate removed")
                    return
                }
                var gate = try GateCalibration.load(version, workspace: ws) ?? InputGate()
                guard data != nil || classifier != nil else {
                    print("\(label): gate \(gate.summary)")
                    return
                }
                if let data {
                    let loaded = try await ModelLoader.load("\(version.name)/\(version.version)", store: store, workspace: ws)
                    let fitted = try GateCalibration.calibrate(loaded, method: InputGate.Method(rawValue: method)!, dataset: data, fitSplit: fitSplit, split: split,
                                                               falseRejectionRate: falseRejection, workspace: ws)
                    gate.method = fitted.gate.method
                    gate.threshold = fitted.gate.threshold
                    gate.falseRejectionRate = fitted.gate.falseRejectionRate
                    gate.calibratedOn = fitted.gate.calibratedOn
                    gate.mean = fitted.gate.mean
                    gate.variance = fitted.gate.variance
                    gate.temperature = fitted.gate.temperature
                    let refused = fitted.heldOut.filter { $0 > gate.threshold! }.count
                    print("\(method) score fitted on \(data) [\(fitSplit)]; threshold \(String(format: "%.4g", gate.threshold!)) refuses \(refused) of \(fitted.heldOut.count) held-out images [\(split)]")
                }
                if let classifier, let accept {
                    let gateVersion = try await store.modelVersion(ModelReference(parsing: classifier))
                    guard let specText = gateVersion.spec else { throw CLIError("gate classifier \(classifier) has no model spec (lumen models migrate)") }
                    let spec = try ModelSpec.decode(specText, model: classifier)
                    guard spec.task == .classification else { throw CLIError("gate classifier \(classifier) is a \(spec.task.rawValue) model; a gate is a classifier") }
                    let classes = accept.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                    if let unknown = classes.first(where: { !spec.classes.contains($0) }) {
                        throw CLIError("--accept \(unknown) is not a class of \(classifier) (classes: \(spec.classes.joined(separator: ", ")))")
                    }
                    guard gateVersion.name != version.name else { throw CLIError("a model cannot be its own gate classifier") }
                    gate.classifier = classifier
                    gate.accept = classes
                    gate.minProbability = minProbability
                }
                try await GateCalibration.save(gate, name: version.name, version: version.version, store: store, workspace: ws)
                print("\(label): gate \(gate.summary)")
            }
        }
    }
}
