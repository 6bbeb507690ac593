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
        @Option(name: .long, help: "Metric columns to show (default: up to 4 found in the runs).") var metric: [String] = []
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
                let columns = metric.isEmpty ? Array(Set(page.runs.flatMap(\.metrics.keys)).sorted().prefix(4)) : metric
                let rows = page.runs.map { run -> [String] in
                    [String(run.info.runID.prefix(8)), run.info.name, run.info.status.rawValue, formatTime(run.info.startTime),
                     formatDuration(run.info)] + columns.map { run.metrics[$0].map { formatNumber($0.value) } ?? "-" }
                }
                print(table(["run", "name", "status", "started", "duration"] + columns, rows))
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
