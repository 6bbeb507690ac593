import ArgumentParser
import Foundation
import LumenStore

/// `lumen experiments …`: list, create, delete and restore experiments.
struct ExperimentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiments", abstract: "List, create, delete and restore experiments.",
        subcommands: [List.self, Create.self, Delete.self, Restore.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List experiments.")
        @OptionGroup var options: WorkspaceOptions
        @Flag(name: .long, help: "Include deleted experiments.") var all = false
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await options.withStore { store in
                let experiments = try await store.experiments(includeDeleted: all)
                if json { return try printJSON(experiments) }
                let rows = experiments.map { [$0.id, $0.name, $0.lifecycle.rawValue, formatTime($0.creationTime)] }
                print(table(["id", "name", "state", "created"], rows))
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an experiment.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Experiment name.") var name: String

        func run() async throws {
            try await options.withStore { store in
                let e = try await store.createExperiment(name: name, artifactLocation: nil, tags: [:])
                print("created experiment \(e.id) '\(e.name)'")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an experiment and its runs (restorable).")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Experiment name or id.") var experiment: String

        func run() async throws {
            try await options.withStore { store in
                let e = try await resolveExperiment(experiment, in: store)
                try await store.setExperimentLifecycle(id: e.id, .deleted)
                print("deleted experiment \(e.id) '\(e.name)' (restore with `lumen experiments restore \(e.id)`)")
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restore a deleted experiment and its runs.")
        @OptionGroup var options: WorkspaceOptions
        @Argument(help: "Experiment name or id.") var experiment: String

        func run() async throws {
            try await options.withStore { store in
                let e = try await resolveExperiment(experiment, in: store)
                try await store.setExperimentLifecycle(id: e.id, .active)
                print("restored experiment \(e.id) '\(e.name)'")
            }
        }
    }
}

/// An experiment by id or by name, with a clear error when neither matches.
func resolveExperiment(_ text: String, in store: any Store) async throws -> Experiment {
    if Int64(text) != nil, let e = try? await store.experiment(id: text) { return e }
    if let e = try await store.experiment(named: text) { return e }
    throw CLIError("no experiment named or numbered '\(text)' (see `lumen experiments list --all`)")
}
