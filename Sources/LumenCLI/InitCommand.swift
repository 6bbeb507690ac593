import ArgumentParser
import Foundation
import LumenStore
import LumenTraining
import LumenWorkspace

/// `lumen init`: makes a workspace in the current (or given) folder.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a Lumen workspace (.lumen/ with config.yaml, database and artifact store) and a commented experiment.yaml.")

    @Argument(help: "Folder to create the workspace in (default: the current folder).")
    var path: String = "."

    @Option(name: .long, help: "Store URI: sqlite:PATH (default sqlite:.lumen/lumen.db) or postgres://user:password@host:port/database.")
    var store: String?

    func run() async throws {
        let root = URL(fileURLWithPath: path).standardizedFileURL
        let workspace: Workspace
        do { workspace = try Workspace.create(at: root, store: store) } catch { throw CLIError("\(error)") }
        let opened = try await workspace.openStore()
        try await opened.close()
        print("Initialised Lumen workspace in \(workspace.folder.path)")
        print("  store:     \(workspace.configuration.store)")
        print("  artifacts: \(workspace.configuration.artifacts)")
        // A commented experiment config to start from (kept when one is there already).
        let example = root.appendingPathComponent("experiment.yaml")
        if !FileManager.default.fileExists(atPath: example.path) {
            do {
                try ExperimentConfig.example.write(to: example, atomically: true, encoding: .utf8)
                print("  example:   \(example.path) (edit data.dataset, then: lumen train experiment.yaml)")
            } catch {
                print("  (could not write the example experiment.yaml: \(error.localizedDescription))")
            }
        }
    }
}
