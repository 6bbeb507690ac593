import ArgumentParser
import Foundation
import LumenStore

/// `lumen runs …`: search, inspect and compare runs.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs", abstract: "Search, show, compare, delete and restore runs.",
        subcommands: [List.self, Show.self, Compare.self, Delete.self, Restore.self], defaultSubcommand: List.self)

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark runs deleted (as MLflow does: they leave searches and can be restored; nothing is erased).")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Run ids.") var runs: [String]
        func run() async throws {
            try await options.withStore { store in
                for id in runs {
                    try await store.setRunLifecycle(id: id, .deleted)
                    print("deleted \(id) (lumen runs restore \(id) brings it back)")
                }
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore deleted runs.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Run ids.") var runs: [String]
        func run() async throws {
            try await options.withStore { store in
                for id in runs {
                    try await store.setRunLifecycle(id: id, .active)
                    print("restored \(id)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List runs, filtered and ordered with MLflow's search syntax.",
            discussion: "Example: lumen runs list --filter \"metrics.val_auc > 0.9 and params.model = 'resnet18'\" --order-by 'metrics.val_auc DESC'")
        @OptionGroup var options: WorkspaceOptions
        @Option(name: .shortAndLong, help: "Experiment name or id (repeatable; default: all active experiments).") var experiment: [String] = []
        @Option(name: .shortAndLong, help: "Filter, e.g. \"metrics.val_auc > 0.9 and params.model = 'resnet18'\".") var filter = ""
        @Option(name: .long, help: "Order, e.g. 'metrics.val_auc DESC' (repeatable).") var orderBy: [String] = []
        @Option(name: .long, help: "Metric columns to show (repeatable).") var metric: [String] = []
        @Option(name: .long, parsing: .upToNextOption, help: "Columns: metrics.KEY, params.KEY or tags.KEY (default: the monitored metric, val AUC/accuracy/loss, dataset and model).") var columns: [String] = []
        @Option(name: .long, help: "Most runs to show.") var max = 50
        @Flag(name: .long, help: "Include deleted runs.") var all = false
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await options.withStore { store in
                var ids: [String] = []
                if experiment.isEmpty {
                    ids = try await store.experiments(includeDeleted: false).map(\.id)
                } else {
                    for e in experiment { ids.append(try await resolveExperiment(e, in: store).id) }
                }
                let page = try await store.searchRuns(RunQuery(experimentIDs: ids, filter: filter, orderBy: orderBy,
                                                                lifecycle: all ? .all : .activeOnly, maxResults: max))
                if json { return try printJSON(page.runs) }
                let chosen = columns.isEmpty ? (metric.isEmpty ? RunColumns.defaults(for: page.runs) : metric.map { "metrics.\($0)" }) : columns
                let rows = page.runs.map { run -> [String] in
                    [String(run.info.runID.prefix(8)), run.info.name, run.info.status.rawValue, formatTime(run.info.startTime),
                     formatDuration(run.info)] + chosen.map { RunColumns.value(run, $0) }
                }
                print(table(["run", "name", "status", "started", "duration"] + chosen.map(RunColumns.header), rows))
                if page.runs.isEmpty && !filter.isEmpty {
                    // An empty answer to a filter on a key no run has is almost always a typo: say so.
                    let every = try await store.searchRuns(RunQuery(experimentIDs: ids, filter: "", orderBy: [], lifecycle: all ? .all : .activeOnly, maxResults: 5000)).runs
                    for hint in RunColumns.unknownKeys(in: filter, runs: every) { print(hint) }
                }
                if page.nextPageToken != nil { print("… more runs: raise --max or narrow --filter") }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one run: attributes, params, tags and metrics with their history.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Run id (a unique prefix is enough).") var run: String
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await options.withStore { store in
                let r = try await resolveRun(run, in: store)
                if json { return try printJSON(r) }
                print("run \(r.info.runID)  \(r.info.name)")
                print("  experiment \(r.info.experimentID)  status \(r.info.status.rawValue)  started \(formatTime(r.info.startTime))  duration \(formatDuration(r.info))")
                if let parent = r.info.parentRunID { print("  parent \(parent)") }
                print("  artifacts \(r.info.artifactURI)")
                if !r.params.isEmpty {
                    print("\nparams")
                    print(table(["key", "value"], r.params.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }))
                }
                if !r.metrics.isEmpty {
                    print("\nmetrics")
                    var rows: [[String]] = []
                    for key in r.metrics.keys.sorted() {
                        let history = try await store.metricHistory(runID: r.info.runID, key: key)
                        rows.append([key, formatNumber(r.metrics[key]!.value), "\(r.metrics[key]!.step)", String(history.count), sparkline(history.map(\.value))])
                    }
                    print(table(["key", "latest", "step", "points", "history"], rows))
                }
                let tags = r.tags.filter { !$0.key.hasPrefix("mlflow.") }
                if !tags.isEmpty {
                    print("\ntags")
                    print(table(["key", "value"], tags.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }))
                }
            }
        }
    }

    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Compare runs side by side: params that differ and every metric.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Two or more run ids (unique prefixes).") var runs: [String]
        @Flag(name: .long, help: "Show params that are equal too.") var allParams = false

        func validate() throws {
            guard runs.count >= 2 else { throw ValidationError("give at least two runs to compare") }
        }

        func run() async throws {
            try await options.withStore { store in
                var loaded: [Run] = []
                for id in runs { loaded.append(try await resolveRun(id, in: store)) }
                let header = [""] + loaded.map { "\($0.info.name) (\($0.info.runID.prefix(8)))" }
                let paramKeys = Set(loaded.flatMap(\.params.keys)).sorted()
                let paramRows = paramKeys.compactMap { key -> [String]? in
                    let values = loaded.map { $0.params[key] ?? "-" }
                    return allParams || Set(values).count > 1 ? ["params.\(key)"] + values : nil
                }
                var metricRows: [[String]] = []
                for key in Set(loaded.flatMap(\.metrics.keys)).sorted() {
                    var row = ["metrics.\(key)"]
                    for r in loaded {
                        guard let m = r.metrics[key] else { row.append("-"); continue }
                        let history = try await store.metricHistory(runID: r.info.runID, key: key).map(\.value)
                        row.append("\(formatNumber(m.value)) \(sparkline(history, width: 12))")
                    }
                    metricRows.append(row)
                }
                print(table(header, paramRows + metricRows))
                if paramRows.isEmpty && !paramKeys.isEmpty { print("(all params equal; --all-params shows them)") }
            }
        }
    }
}

/// A run by full id or unique prefix.
func resolveRun(_ text: String, in store: any Store) async throws -> Run {
    if text.count == 32, let run = try? await store.run(id: text) { return run }
    let experiments = try await store.experiments(includeDeleted: true).map(\.id)
    let page = try await store.searchRuns(RunQuery(experimentIDs: experiments, lifecycle: .all, maxResults: 50_000))
    let matches = page.runs.filter { $0.info.runID.hasPrefix(text.lowercased()) }
    guard matches.count == 1 else {
        throw CLIError(matches.isEmpty ? "no run with id '\(text)'" : "'\(text)' matches \(matches.count) runs: give more characters")
    }
    return matches[0]
}

/// The columns of `lumen runs list`: what a user ranks runs by, and how to show a `metrics.`/`params.`/`tags.` key.
enum RunColumns {
    /// The experiments' monitored metric, then val AUC, accuracy and loss (those logged), then dataset and model.
    static func defaults(for runs: [Run]) -> [String] {
        var metrics: [String] = []
        let monitored = Dictionary(grouping: runs.compactMap { $0.params["trainer.early_stopping.metric"] }, by: { $0 }).max { $0.value.count < $1.value.count }?.key
        for key in [monitored, "val_auc", "val_accuracy", "val_dice", "val_loss"].compactMap({ $0 }) where !metrics.contains(key) && runs.contains(where: { $0.metrics[key] != nil }) {
            metrics.append(key)
        }
        if metrics.isEmpty { metrics = Array(Set(runs.flatMap(\.metrics.keys)).sorted().prefix(3)) }
        var out = metrics.map { "metrics.\($0)" }
        if runs.contains(where: { $0.tags["lumen.dataset"] != nil }) { out.append("tags.lumen.dataset") }
        if runs.contains(where: { $0.params["model.name"] != nil }) { out.append("params.model.name") } else if runs.contains(where: { $0.params["model"] != nil }) { out.append("params.model") }
        return out
    }

    static func header(_ column: String) -> String {
        switch column {
        case "tags.lumen.dataset": "dataset"
        case "params.model.name", "params.model": "model"
        default: column.hasPrefix("metrics.") ? String(column.dropFirst(8)) : column
        }
    }

    static func value(_ run: Run, _ column: String) -> String {
        if column.hasPrefix("metrics.") { return run.metrics[String(column.dropFirst(8))].map { formatNumber($0.value) } ?? "-" }
        if column.hasPrefix("params.") { return run.params[String(column.dropFirst(7))] ?? "-" }
        if column.hasPrefix("tags.") { return run.tags[String(column.dropFirst(5))] ?? "-" }
        return run.metrics[column].map { formatNumber($0.value) } ?? "-"
    }

    /// Hints for `metrics.X`, `params.X` and `tags.X` in `filter` that no run has, with the keys that exist.
    static func unknownKeys(in filter: String, runs: [Run]) -> [String] {
        var hints: [String] = []
        let pattern = try? NSRegularExpression(pattern: "\\b(metrics|params|tags)\\.(`[^`]+`|\"[^\"]+\"|[A-Za-z0-9_.\\-/]+)")
        let text = filter as NSString
        for match in pattern?.matches(in: filter, range: NSRange(location: 0, length: text.length)) ?? [] {
            let kind = text.substring(with: match.range(at: 1))
            let key = text.substring(with: match.range(at: 2)).trimmingCharacters(in: CharacterSet(charactersIn: "`\""))
            let known: Set<String> = switch kind {
            case "metrics": Set(runs.flatMap(\.metrics.keys))
            case "params": Set(runs.flatMap(\.params.keys))
            default: Set(runs.flatMap(\.tags.keys))
            }
            if !known.contains(key) {
                hints.append("hint: no run has \(kind).\(key); known \(kind): \(known.sorted().prefix(20).joined(separator: ", "))\(known.count > 20 ? ", …" : "")")
            }
        }
        return hints
    }
}
