import Foundation
import LumenWorkspace

extension Workspace {
    /// Opens the configured store (`store:` in config.yaml; `LUMEN_STORE` overrides it).
    public func openStore() async throws -> any Store {
        try await LumenStore.openStore(uri: storeURI, base: root)
    }
}
