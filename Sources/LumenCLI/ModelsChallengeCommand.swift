import ArgumentParser
import Foundation
import LumenStore
import LumenTraining
import LumenWorkspace

extension ModelsCommand {
    /// `lumen models challenge CHALLENGER --champion REF`: the promotion gate of the retraining loop.
    struct Challenge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare a challenger with the champion on the same held-out images (paired bootstrap) and, with --promote, move the alias only when the rule holds.",
            discussion: "The rule: the metric's difference (challenger − champion) is at least --margin and the lower end of its 95 % paired bootstrap interval is above 0. The decision and its evidence are stored with the challenger (tag lumen.challenge) and printed; exit status 0 either way (a refusal is a decision, not a failure), 2 with --require-promotion when refused.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "The challenger: NAME@ALIAS, NAME/VERSION or NAME (its latest version).") var challenger: String
        @Option(help: "The champion: NAME@ALIAS or NAME/VERSION.") var champion: String
        @Option(help: "The dataset (NAME or NAME:VERSION) both predict.") var data: String
        @Option(help: "The held-out split.") var split = "test"
        @Option(help: ArgumentHelp("roc_auc, accuracy, sensitivity, specificity or balanced_accuracy.", valueName: "metric")) var metric = "roc_auc"
        @Option(help: "The least improvement that promotes.") var margin = 0.0
        @Option(help: "Bootstrap resamples.") var bootstrap = 1000
        @Option(help: ArgumentHelp("Move this alias (of the challenger's model) to the challenger when the rule holds.", valueName: "alias")) var promote: String?
        @Option(help: "Also write the decision as JSON here.") var out: String?
        @Flag(help: "Exit with status 2 when the challenger is not promoted.") var requirePromotion = false

        func validate() throws {
            guard ChallengeDecision.metrics.contains(metric) else { throw ValidationError("--metric must be one of \(ChallengeDecision.metrics.joined(separator: ", "))") }
            guard (100...100_000).contains(bootstrap) else { throw ValidationError("--bootstrap must be 100…100000") }
        }

        func run() async throws {
            let ws = try options.open()
            let decision = try await options.withStore { store -> ChallengeDecision in
                let a = try await ModelLoader.load(champion, store: store, workspace: ws)
                let b = try await ModelLoader.load(challenger, store: store, workspace: ws)
                guard a.version.name != b.version.name || a.version.version != b.version.version else {
                    throw CLIError("the challenger (\(b.version.name)/\(b.version.version)) is the champion itself: nothing to compare")
                }
                let bar = ProgressBar("champion")
                let ra = try Evaluator.evaluate(a, dataset: data, split: split, workspace: ws, bootstrap: 100, progress: { bar.update($0, $1) })
                let bar2 = ProgressBar("challenger")
                let rb = try Evaluator.evaluate(b, dataset: data, split: split, workspace: ws, bootstrap: 100, progress: { bar2.update($0, $1) })
                var d = try ChallengeDecision.decide(champion: ra, challenger: rb, championName: "\(a.version.name)/\(a.version.version)",
                                                     challengerName: "\(b.version.name)/\(b.version.version)", dataset: data, split: split,
                                                     metric: metric, margin: margin, bootstrap: bootstrap)
                if let promote, d.promote {
                    try await store.setAlias(name: b.version.name, alias: promote, version: b.version.version)
                    d.alias = promote
                    d.aliasMoved = true
                } else {
                    d.alias = promote
                }
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                encoder.dateEncodingStrategy = .iso8601
                let json = try encoder.encode(d)
                let (sha, _) = try ArtifactStore(root: ws.artifactRoot).put(json)
                try await store.setModelVersionTag(name: b.version.name, version: b.version.version, key: ChallengeDecision.tag, value: sha)
                if let out {
                    do { try json.write(to: URL(fileURLWithPath: out), options: .atomic) } catch { throw CLIError("\(out): \(error.localizedDescription)") }
                }
                return d
            }
            print("\(decision.challenger) against \(decision.champion) on \(decision.images) images of \(decision.dataset) [\(decision.split)]")
            print(table(["", decision.metric], [["champion " + decision.champion, String(format: "%.4f", decision.championValue)],
                                                ["challenger " + decision.challenger, String(format: "%.4f", decision.challengerValue)],
                                                ["difference (95 % paired bootstrap CI)", String(format: "%+.4f (%.4f to %.4f)", decision.difference, decision.low, decision.high)]]))
            print("rule: \(decision.rule)")
            if decision.promote {
                print("PROMOTE: \(decision.reason)" + (decision.aliasMoved ? "; \(decision.alias!) → \(decision.challenger) (servers pick it up at their next poll)" : " (no --promote: no alias moved)"))
            } else {
                print("KEEP THE CHAMPION: \(decision.reason)" + (decision.alias.map { "; \($0) stays on \(decision.champion)" } ?? ""))
                if requirePromotion { throw ExitCode(2) }
            }
        }
    }
}
