import ArgumentParser
import Foundation
import LumenServing
import LumenStore
import LumenWorkspace

/// `lumen serve`: the tracking server (MLflow's REST API) over the workspace's store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the tracking and artifact API (MLflow-compatible: MLFLOW_TRACKING_URI=http://HOST:PORT).")

    @OptionGroup var options: WorkspaceOptions
    @Option(name: .long, help: "Interface to listen on.") var host = "127.0.0.1"
    @Option(name: .shortAndLong, help: "TCP port.") var port = 5000
    @Option(name: .long, help: "Largest artifact upload in MiB.") var maxArtifactMb = 8192
    @Flag(inversion: .prefixedNo, help: "Require API tokens for writes (default: on when --host is not loopback).") var auth: Bool?

    func validate() throws {
        guard (1...65535).contains(port) else { throw ValidationError("--port must be 1…65535") }
        guard maxArtifactMb > 0 else { throw ValidationError("--max-artifact-mb must be positive") }
    }

    func run() async throws {
        let workspace = try options.open()
        let store = try await workspace.openStore()
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.maxArtifactBytes = Int64(maxArtifactMb) * 1024 * 1024
        configuration.requireTokens = auth
        let banner = "lumen serve: http://\(host):\(port)  (store \(SQLStore.redacted(workspace.storeURI)), artifacts \(workspace.artifactRoot.path))\n"
            + (configuration.authEnabled ? "  writes need an API token (lumen token create --role writer)" : "  open for writes (loopback); --auth requires tokens")
        // The banner is printed once the port is really listened on.
        let app = makeServer(store: store, artifacts: ArtifactStore(root: workspace.artifactRoot), configuration: configuration) { print(banner) }
        defer { Task { try? await store.close() } }
        do {
            try await app.runService()
        } catch {
            if let reason = listenFailure(error, host: host, port: port) { throw CLIError(reason) }
            throw error
        }
    }
}
