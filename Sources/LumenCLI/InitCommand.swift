import ArgumentParser
import Foundation
import LumenStore

/// `lumen init`: makes a workspace in the current (or given) folder.
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "init", abstract: "Create a Lumen workspace (.lumen/ with config.yaml, database and artifact store).")

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
    }
}
