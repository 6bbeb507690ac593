import ArgumentParser
import Foundation
import LumenMonitoring
import LumenStore
import LumenWorkspace

/// `lumen alerts …`: the alerts the monitoring rules raised, and one evaluation of the rules on demand.
struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Alerts raised by the monitoring rules of the server config ('alerts:'): list them, or evaluate the rules once.",
        subcommands: [List.self, Check.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Firing alerts (with --all: every alert of the period, pending and resolved too), newest first.")
        @OptionGroup var options: WorkspaceOptions
        @Flag(help: "Every alert started in --since, not only the firing ones.") var all = false
        @Option(help: "With --all: how far back (30m, 12h, 7d).") var since = "7d"
        @Option(help: "Most alerts shown.") var limit = 200
        @Flag(help: "Print JSON (each alert with its evidence and deliveries).") var json = false

        func validate() throws {
            _ = try durationSeconds(since, option: "--since")
            guard (1...100_000).contains(limit) else { throw ValidationError("--limit must be 1…100000") }
        }

        func run() async throws {
            let from = Clock.nowMillis() - Int64(try durationSeconds(since, option: "--since") * 1000)
            let alerts = try await options.withStore { store in try await store.alerts(openOnly: !all, since: from, limit: limit) }
            if json {
                let objects = alerts.map { a -> [String: Any] in
                    var o = AlertNotifier.json(a)
                    o["deliveries"] = a.deliveries.split(separator: "\n").map(String.init)
                    return o
                }
                print(String(decoding: try JSONSerialization.data(withJSONObject: objects, options: [.prettyPrinted, .sortedKeys]), as: UTF8.self))
                return
            }
            if alerts.isEmpty { print(all ? "no alert in the last \(since)" : "no alert firing"); return }
            func time(_ ms: Int64?) -> String { ms.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "-" }
            print(table(["state", "rule", "model", "severity", "metric", "value", "condition", "started", "resolved", "delivered"], alerts.map { a in
                [a.state.rawValue.uppercased(), a.rule, a.model, a.severity, a.metric, a.value.map { String(format: "%.4g", $0) } ?? "-",
                 "\(a.comparison) \(String(format: "%g", a.threshold))", time(a.started), time(a.resolved),
                 a.deliveries.isEmpty ? "-" : "\(a.deliveries.components(separatedBy: "delivered").count - 1)/\(a.deliveries.split(separator: "\n").count)"]
            }))
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate the alert rules of a server config once against the store (what lumen serve does every interval): alerts fire, resolve and notify as they would there.")
        @OptionGroup var options: WorkspaceOptions
        @Option(name: .long, help: ArgumentHelp("Server config file (YAML) with 'alerts:'.", valueName: "file")) var config: String
        @Option(name: .long, help: "The models a '*' rule covers (repeatable; default: every registered model).") var model: [String] = []

        func run() async throws {
            guard let alerts = try ServeCommand.alertConfig(config) else { throw CLIError("\(config): no 'alerts:' in the server config") }
            let ws = try options.open()
            let (events, errors) = try await options.withStore { store in
                let models = model.isEmpty ? try await store.registeredModels(nameLike: nil).map(\.name) : model
                return await AlertEngine(config: alerts, store: store, artifacts: ArtifactStore(root: ws.artifactRoot)).evaluate(models: models)
            }
            for e in events { print("\(e.change): \(AlertNotifier.summary(e.alert))") }
            for e in errors { FileHandle.standardError.write(Data("lumen alerts: \(e)\n".utf8)) }
            if events.isEmpty && errors.isEmpty { print("\(alerts.rules.count) rule(s) evaluated: nothing changed") }
            if !errors.isEmpty { throw ExitCode(1) }
        }
    }
}
