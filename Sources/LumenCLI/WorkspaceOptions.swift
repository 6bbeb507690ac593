import ArgumentParser
import LumenStore
import LumenWorkspace

/// `--workspace`, shared by every command that uses the store.
struct WorkspaceOptions: ParsableArguments {
    @Option(name: .long, help: "Workspace folder (default: the nearest .lumen/ upward, or LUMEN_HOME).")
    var workspace: String?

    func open() throws -> Workspace {
        do { return try Workspace.find(explicit: workspace) } catch { throw CLIError("\(error)") }
    }

    /// Runs `body` with the workspace's store open, closing it afterwards.
    func withStore<T>(_ body: (any Store) async throws -> T) async throws -> T {
        let store = try await open().openStore()
        do {
            let result = try await body(store)
            try await store.close()
            return result
        } catch {
            try? await store.close()
            throw error
        }
    }
}
