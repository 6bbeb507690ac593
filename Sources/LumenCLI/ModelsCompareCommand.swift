import ArgumentParser
import Foundation
import LumenServing
import LumenStore
import LumenWorkspace

extension ModelsCommand {
    /// `lumen models compare NAME --from-log`: the versions of a model side by side on the traffic the server logged.
    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare a model's versions on logged traffic: agreement, output distributions, latency.",
            discussion: "Reads the prediction log that `lumen serve` writes (A/B, canary and shadow traffic included). Agreement counts inputs (by their hash) that two versions both predicted. Accuracy needs feedback, which the log does not hold yet.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Registered model name.") var name: String
        @Flag(name: .customLong("from-log"), help: "Compare on the prediction log (the only source for now).") var fromLog = false
        @Option(help: "Only predictions of the last this many hours (0: all).") var hours: Double = 0
        @Option(help: "Most log entries to read.") var limit = 100_000
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard fromLog else { throw ValidationError("say where to compare: --from-log (the server's prediction log)") }
            guard hours >= 0, limit > 0 else { throw ValidationError("--hours must be ≥ 0 and --limit positive") }
        }

        func run() async throws {
            try await options.withStore { store in
                _ = try await store.registeredModel(name: name)
                let since = hours > 0 ? Clock.nowMillis() - Int64(hours * 3_600_000) : 0
                let logs = try await store.predictions(modelName: name, version: nil, since: since, limit: limit)
                guard !logs.isEmpty else { throw CLIError("no predictions of \(name) are logged\(hours > 0 ? " in the last \(hours) h" : ""): serve it with `lumen serve --model \(name)@ALIAS` first") }
                let comparison = LogComparison(logs)
                let versions = try await store.modelVersions(name: name, runID: nil)
                let classes = versions.compactMap { v in v.spec.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }?["classes"] as? [String] }.first ?? []
                func cls(_ i: Int) -> String { i < classes.count ? classes[i] : String(i) }
                if json {
                    try printJSON(JSONComparison(comparison, classes: classes))
                    return
                }
                print("\(name): \(logs.count) logged predictions, \(comparison.versions.count) version(s)")
                print(table(["version", "predictions", "routes", "p50 ms", "p90 ms", "p99 ms", "labels", "mean probability"], comparison.versions.map { v in
                    [String(v.version), String(v.predictions), v.routes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                     String(format: "%.1f", v.latencyP50 * 1000), String(format: "%.1f", v.latencyP90 * 1000), String(format: "%.1f", v.latencyP99 * 1000),
                     v.labels.sorted { $0.key < $1.key }.map { "\(cls($0.key)) \(String(format: "%.0f", 100 * Double($0.value) / Double(max(v.predictions, 1)))) %" }.joined(separator: ", "),
                     v.meanProbabilities.enumerated().map { "\(cls($0.offset)) \(String(format: "%.3f", $0.element))" }.joined(separator: ", ")]
                }))
                if !comparison.agreements.isEmpty {
                    print(table(["versions", "same inputs", "same label", "agreement"], comparison.agreements.map { a in
                        ["\(a.a) vs \(a.b)", String(a.shared), String(a.agreeing), a.shared == 0 ? "n/a" : String(format: "%.1f %%", 100 * a.rate)]
                    }))
                }
                print("accuracy: n/a (no feedback in the log)")
            }
        }
    }
}

/// The comparison as JSON.
struct JSONComparison: Encodable {
    struct Version: Encodable {
        var version: Int64
        var predictions: Int
        var routes: [String: Int]
        var latency_ms: [String: Double]
        var labels: [String: Int]
        var mean_probability: [String: Double]
    }
    struct Agreement: Encodable { var versions: [Int64]; var same_inputs: Int; var same_label: Int }
    var versions: [Version]
    var agreement: [Agreement]

    init(_ c: LogComparison, classes: [String]) {
        func cls(_ i: Int) -> String { i < classes.count ? classes[i] : String(i) }
        versions = c.versions.map { v in
            Version(version: v.version, predictions: v.predictions, routes: v.routes,
                    latency_ms: ["p50": v.latencyP50 * 1000, "p90": v.latencyP90 * 1000, "p99": v.latencyP99 * 1000],
                    labels: Dictionary(uniqueKeysWithValues: v.labels.map { (cls($0.key), $0.value) }),
                    mean_probability: Dictionary(uniqueKeysWithValues: v.meanProbabilities.enumerated().map { (cls($0.offset), $0.element) }))
        }
        agreement = c.agreements.map { Agreement(versions: [$0.a, $0.b], same_inputs: $0.shared, same_label: $0.agreeing) }
    }
}
