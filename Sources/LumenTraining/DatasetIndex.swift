import Crypto
import Foundation
import LumenData
import LumenStore
import LumenWorkspace

/// Saving a dataset version so that everyone sharing the store finds it: the manifest goes to the
/// artifact root (`DatasetRepository`), and a row in the store's `dataset_versions` table references it
/// (path under the artifact root and the manifest's SHA-256).
public enum DatasetIndex {
    /// Saves `version` and records it in the store; returns the manifest's URL.
    @discardableResult
    public static func save(_ version: DatasetVersion, repository: DatasetRepository, store: any Store) async throws -> URL {
        let file = try repository.save(version)
        try await store.recordDatasetVersion(record(version, manifest: file, artifactRoot: repository.artifacts.root))
        return file
    }

    /// The store's row for a saved version.
    public static func record(_ version: DatasetVersion, manifest: URL, artifactRoot: URL) throws -> DatasetRecord {
        let data = try Data(contentsOf: manifest)
        let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        let root = artifactRoot.standardizedFileURL.path
        var path = manifest.standardizedFileURL.path
        if path.hasPrefix(root + "/") { path = String(path.dropFirst(root.count + 1)) }
        return DatasetRecord(name: version.name, versionID: version.id, created: Int64(version.createdAt.timeIntervalSince1970 * 1000),
                             task: version.task.rawValue, files: Int64(version.entries.count), classes: version.classes, parent: version.parent,
                             manifestPath: path, manifestSHA256: digest)
    }

    /// Records every saved version the store does not index yet (versions made before the index existed).
    public static func adopt(repository: DatasetRepository, store: any Store) async throws -> Int {
        let known = Set(try await store.datasetVersions(name: nil).map { "\($0.name):\($0.versionID)" })
        var added = 0
        for name in repository.names() {
            for version in try repository.versions(of: name) where !known.contains(version.reference) {
                let manifest = repository.folder.appendingPathComponent(name).appendingPathComponent("\(version.id).json")
                try await store.recordDatasetVersion(record(version, manifest: manifest, artifactRoot: repository.artifacts.root))
                added += 1
            }
        }
        return added
    }
}
